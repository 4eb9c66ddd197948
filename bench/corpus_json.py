#!/usr/bin/python3
"""corpus_json.py: the JSON samples of tests/corpus through `headroom compress` with each
sample's question, side by side for two binaries (ours and a baseline). Per sample: exact
token counts before/after (o200k when HEADROOM_DATA_DIR holds tokenizers/o200k_base.tiktoken,
--model gpt-4o), facts visible in the output / only back through `headroom retrieve HASH
--query QUESTION` / lost, and whether the JSON part (before the closing marker) parses.
A stop-gap until the corpus benchmark covers every sample; exit status 1 if a fact is lost.

  /usr/bin/python3 bench/corpus_json.py ./build/headroom [BASELINE_BIN]
"""
import json, os, re, subprocess, sys, tempfile

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'corpus')
MARKER = re.compile(r'\n\[\d+ \w+ compressed to \d+\. Retrieve more: hash=([0-9a-f]{24})\]')


def json_samples():
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith('.txt') and open(os.path.join(CORPUS, name), 'rb').read(1) in (b'{', b'['):
            yield name[:-4]


def run(binary, name):
    meta = json.load(open(os.path.join(CORPUS, name + '.meta.json')))
    raw = open(os.path.join(CORPUS, name + '.txt'), 'rb').read()
    store = tempfile.mkdtemp(prefix='hr_corpus_')
    ccr = ['--ccr-backend', 'sqlite', '--data-dir', store]
    p = subprocess.run([binary, 'compress', '--format', 'raw', '--stats', '--model', 'gpt-4o',
                        '--query', meta['question']] + ccr, input=raw, capture_output=True)
    out = p.stdout.decode()
    stats = dict(kv.split('=', 1) for kv in p.stderr.decode().split() if '=' in kv)
    m = MARKER.search(out)
    try:
        json.loads(out[:m.start()] if m else out)
        parses = 'yes'
    except ValueError:
        parses = 'NO'
    seen = back = 0
    lost = []
    for fact in meta['facts']:
        forms = (fact, json.dumps(fact)[1:-1])
        if any(f in out for f in forms):
            seen += 1
            continue
        if m:
            r = subprocess.run([binary, 'retrieve', m.group(1), '--query', meta['question']] + ccr,
                               capture_output=True).stdout.decode()
            if any(f in r for f in forms):
                back += 1
                continue
        lost.append(fact)
    return int(stats.get('tokens_before', 0)), int(stats.get('tokens_after', 0)), seen, back, lost, parses, stats.get('counter')


def main():
    bins = sys.argv[1:3]
    if not bins:
        sys.exit(__doc__)
    totals = [[0, 0] for _ in bins]
    any_lost = False
    print('| Sample | ' + ' | '.join(f'{b}: before → after (saved), facts visible/retrieved/lost, parses' for b in bins) + ' |')
    print('|---|' + '---|' * len(bins))
    counter = None
    for name in json_samples():
        cells = []
        for k, b in enumerate(bins):
            before, after, seen, back, lost, parses, counter = run(b, name)
            totals[k][0] += before
            totals[k][1] += after
            any_lost |= k == 0 and bool(lost)
            saved = 100.0 * (before - after) / before if before else 0
            cells.append(f'{before:,} → {after:,} ({saved:.1f}%), {seen}/{back}/{len(lost)}, {parses}'
                         + (f' lost: {lost}' if lost else ''))
        print(f'| {name} | ' + ' | '.join(cells) + ' |')
    print('| total | ' + ' | '.join(f'{b:,} → {a:,} ({100.0 * (b - a) / b:.1f}%)' for b, a in totals) + ' |')
    print(f'counter: {counter}')
    sys.exit(1 if any_lost else 0)


if __name__ == '__main__':
    main()
