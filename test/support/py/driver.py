# CPython side of the e2e runner: runs scenario code sent on stdin (one JSON object per line)
# in one persistent namespace and answers on fd 3 with one JSON object per line.
import json
import os
import sys
import traceback

answers = os.fdopen(3, 'w')
G = {'__name__': '__scenario__'}
for line in sys.stdin:
    code = json.loads(line)['code']
    G['R'] = None
    try:
        exec(compile(code, '<scenario>', 'exec'), G)
        res = {'ok': True}
    except BaseException as e:  # noqa: B036 (report everything, SystemExit included)
        res = {'ok': False, 'type': type(e).__name__, 'message': str(e), 'traceback': traceback.format_exc()}
    try:
        res['value'] = G['_JS'](G.get('R')) if '_JS' in G else 'null'
    except Exception as e:  # R cannot go back: an error, as on the simulated board
        res = {'ok': False, 'type': type(e).__name__, 'message': 'R cannot be returned: %s' % e,
               'traceback': traceback.format_exc(), 'value': 'null'}
    sys.stdout.flush()
    sys.stderr.flush()
    answers.write(json.dumps(res) + '\n')
    answers.flush()
