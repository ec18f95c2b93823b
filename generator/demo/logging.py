# A stand-in for micropython-lib's logging, as much of it as the original examples use.
DEBUG = 10


def basicConfig(**kw):
    pass
