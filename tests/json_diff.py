#!/usr/bin/env python3
"""Write N lines of mutated JSON (seeded) to argv[2]; the lines that Python's json module does not read as a
JSON object go to argv[3]. Used by split.bats to check trainbox's validator agrees with a reference parser."""
import json, random, sys

n, out_all, out_bad = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
seeds = [
    b'{"__key__":"a","txt":"hello","n":[1,2.5,-3e4,{"x":null}],"t":true,"f":false}',
    b'{"a":{"b":{"c":[[],{},[{}]]}},"s":"\\u00e9\\n\\"q\\"","z":0}',
    '{"k":"caf\u00e9 \u65e5\u672c \U0001f600","e":[]}'.encode(),
    b'[1,"two",{"three":3},[4]]',
    b'"just a string"',
    b'-0.0e-7',
    b'{"a":1 ,"b" : 2 , "c":[ 1 , 2 ] }',
]
alphabet = [b'{', b'}', b'[', b']', b',', b':', b'"', b' ', b'\t', b'0', b'1', b'-', b'+', b'.', b'e', b'E',
            b't', b'f', b'n', b'u', b'l', b'\\', b'x', '\u00e9'.encode(), b'\x01', b'\xff', b'\xed\xa0\x80',
            b'\xc0\xaf', b'\\u12', b'\\ud83d', b'true', b'null', b'NaN', b'01', b'/']

def mutate(s):
    s = bytearray(s)
    for _ in range(rng.randint(1, 2)):
        op = rng.randint(0, 2)
        pos = rng.randint(0, len(s))
        if op == 0 or not s:
            s[pos:pos] = rng.choice(alphabet)
        elif op == 1:
            del s[min(pos, len(s) - 1)]
        else:
            s[min(pos, len(s) - 1):min(pos, len(s) - 1) + 1] = rng.choice(alphabet)
    return bytes(s)

def valid(b):
    def no_const(c):
        raise ValueError(c)
    try:
        return isinstance(json.loads(b.decode('utf-8'), parse_constant=no_const), dict)
    except ValueError:
        return False

lines = []
while len(lines) < n:
    b = rng.choice(seeds)
    if rng.random() < 0.7:
        b = mutate(b)
    if b'\n' in b or b'\r' in b or not b.strip(b' \t'):
        continue
    lines.append(b)
with open(out_all, 'wb') as f:
    f.write(b''.join(l + b'\n' for l in lines))
with open(out_bad, 'wb') as f:
    f.write(b''.join(l + b'\n' for l in lines if not valid(l)))
