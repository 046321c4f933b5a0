#!/usr/bin/env python3
"""Generate deterministic NDJSON samples for tests and benchmarks.
usage: gen_samples.py N [SEED] [--binary-frac=F] [--text-bytes=B] [--no-key] [--dirs] [--key-prefix=P]"""
import base64, json, random, sys

def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    opts = [a for a in sys.argv[1:] if a.startswith('--')]
    n = int(args[0]); seed = int(args[1]) if len(args) > 1 else 1
    binfrac = 0.1; text_bytes = 200; nokey = '--no-key' in opts; dirs = '--dirs' in opts; kp = ''
    for o in opts:
        if o.startswith('--binary-frac='): binfrac = float(o.split('=', 1)[1])
        if o.startswith('--text-bytes='): text_bytes = int(o.split('=', 1)[1])
        if o.startswith('--key-prefix='): kp = o.split('=', 1)[1]
    rng = random.Random(seed)
    words = ['alpha', 'beta', 'gamma', 'δέλτα', 'ε', '日本語', 'emoji😀', 'tab\there', 'quote"q', 'back\\slash', 'nl\nx']
    out = sys.stdout
    for i in range(n):
        s = {}
        if not nokey:
            s['__key__'] = (f'd{i % 7}/' if dirs else '') + kp + f'sample{i:08d}'
        t = []
        while sum(len(w) + 1 for w in t) < text_bytes:
            t.append(rng.choice(words))
        s['txt'] = ' '.join(t)
        s['json'] = {'id': 9007199254740993 + i, 'score': round(rng.random(), 6), 'tags': [rng.choice(words) for _ in range(3)], 'ok': i % 2 == 0, 'none': None}
        s['cls'] = str(i % 10)
        if i % 13 == 0:
            s['empty.txt'] = ''
        if rng.random() < binfrac:
            s['bin'] = {'$base64': base64.b64encode(rng.randbytes(rng.randint(0, 2048))).decode()}
        s['_meta'] = {'source': 'gen'}
        out.write(json.dumps(s, ensure_ascii=(i % 3 == 0)) + '\n')

main()
