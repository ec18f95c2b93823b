# wirestate simulated ESP8266: `binascii` = the VM's C module (ubinascii), as the board's, less
# crc32, which the ESP8266 firmware leaves out (MICROPY_PY_BINASCII_CRC32). A plain import in
# this VM finds micropython-lib's pure-Python binascii instead, which is slow and allocates
# kilobytes a call (3 KB for the base64 of a 16-byte key) where the board's C functions
# allocate their result only.
from ubinascii import *

del crc32
