#!/usr/bin/python3
"""html_kompress.py: would Kompress pay on the prose the HTML compressor leaves?

For each HTML input (the corpus pages with their questions, and the HTML fragments under
tests/html_fragments), the output of `headroom compress` (HTML compressor, as routed today)
is split into prose runs: text between tags, outside <pre>/<code>, of at least
HR_KOMPRESS_MIN_WORDS words. It reports
  - how many runs there are and how many reach Kompress's size threshold
    (--kompress-min-bytes, 2048: the `wants` rule a run would be routed under);
  - "without": tokens after the HTML compressor alone;
  - "with": tokens when every run of 10+ words (ignoring the size threshold, the most
    Kompress could get) is replaced by `headroom kompress --model MODEL` of it;
  - "asked": the same, except runs naming a word of the question stay whole (Kompress
    itself does not read the question; this is what a question-aware route could do);
  - for the corpus pages, which question facts stay verbatim in each output.
Tokens are the `estimate` counter of `headroom compress --stats` (tokens_before of the
text fed back in raw). Runs are joined with must-keep separator lines, so one Kompress
call scores them all and each comes back in its place.

usage: bench/html_kompress.py BUILD_DIR MODEL.hrm
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_WORDS = 10      # HR_KOMPRESS_MIN_WORDS
MIN_BYTES = 2048    # HR_KOMPRESS_MIN_BYTES (--kompress-min-bytes default)
SEP = "HTMLRUN_SEPARATOR_%04d"  # ALLCAPS + snake_case: a must-keep word


def run(cmd, data, env=None):
    p = subprocess.run(cmd, input=data.encode(), capture_output=True, env=env)
    return p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def compress(headroom, text, query, data_dir):
    out, _ = run([headroom, "compress", "--format", "raw", "--data-dir", data_dir,
                  "--query", query or ""], text)
    return out


def tokens(headroom, text, data_dir):
    # --min-bytes past the input: nothing is compressed, tokens_before is the count
    _, err = run([headroom, "compress", "--format", "raw", "--stats", "--data-dir", data_dir,
                  "--min-bytes", "1073741824"], text)
    m = re.search(r"tokens_before=(\d+)", err)
    return int(m.group(1))


RUN = re.compile(r"(<(pre|code)\b.*?</\2\s*>)|(<[^>]*>)", re.S | re.I)


def split_runs(text):
    """[(is_prose_run, piece)] covering text: markup and <pre>/<code> blocks stay pieces of
    their own; text between them is a run when it holds MIN_WORDS words."""
    pieces, at = [], 0
    for m in RUN.finditer(text):
        if m.start() > at:
            t = text[at:m.start()]
            pieces.append((len(t.split()) >= MIN_WORDS, t))
        pieces.append((False, m.group(0)))
        at = m.end()
    if at < len(text):
        t = text[at:]
        pieces.append((len(t.split()) >= MIN_WORDS, t))
    return pieces


STOP = {"the", "and", "for", "what", "does", "which", "there", "this", "that", "with", "how",
        "from", "into", "its", "are", "was", "is", "in", "do", "of", "a", "an", "to"}


def asked(question):
    return {w for w in re.findall(r"[a-z0-9]+", question.lower()) if len(w) >= 3 and w not in STOP}


def protect(pieces, words):
    """Runs naming a question word are not sent to Kompress (a question-aware variant)."""
    return [(k and not (words & set(re.findall(r"[a-z0-9]+", p.lower()))), p) for k, p in pieces]


def kompress_runs(headroom, model, pieces):
    runs = [p for k, p in pieces if k]
    if not runs:
        return pieces
    joined = "".join("%s\n%s\n" % (SEP % i, r.strip("\n")) for i, r in enumerate(runs))
    out, err = run([headroom, "kompress", "--model", model], joined)
    parts = re.split(r"^HTMLRUN_SEPARATOR_(\d{4})\n", out, flags=re.M)
    got = {int(parts[i]): parts[i + 1].rstrip("\n") for i in range(1, len(parts) - 1, 2)}
    if len(got) != len(runs):
        sys.exit("kompress lost a separator: %s" % err)
    res, i = [], 0
    for k, p in pieces:
        if k:
            lead = p[: len(p) - len(p.lstrip())]
            trail = p[len(p.rstrip()):]
            res.append((k, lead + got[i].strip() + trail))
            i += 1
        else:
            res.append((k, p))
    return res


def inputs():
    corpus = os.path.join(ROOT, "tests", "corpus")
    for name in ("idle_help_html", "curl_v_listing"):
        meta = json.load(open(os.path.join(corpus, name + ".meta.json")))
        qs = [(meta["question"], meta["facts"])]
        qs += [(q["question"], q["facts"]) for q in meta.get("questions", [])]
        yield name, open(os.path.join(corpus, name + ".txt")).read(), qs
    frag = os.path.join(ROOT, "tests", "html_fragments")
    for name in ("bzip2_div.html", "fontconfig_body_cut.html", "email_html_part.eml"):
        yield name, open(os.path.join(frag, name), encoding="latin-1").read(), [("", [])]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    headroom = os.path.join(sys.argv[1], "headroom")
    model = sys.argv[2]
    dd = tempfile.mkdtemp(prefix="html-kompress-")
    print("%-26s %-3s %5s %5s %7s %7s %7s %7s  %s" % (
        "input", "q", "runs", ">=2KB", "before", "without", "with", "asked", "facts without/with/asked"))
    for name, text, qs in inputs():
        before = tokens(headroom, text, dd)
        for qi, (q, facts) in enumerate(qs):
            html = compress(headroom, text, q, dd)
            pieces = split_runs(html)
            runs = [p for k, p in pieces if k]
            big = sum(1 for r in runs if len(r.encode()) >= MIN_BYTES)
            withk = "".join(p for _, p in kompress_runs(headroom, model, pieces))
            withq = "".join(p for _, p in kompress_runs(headroom, model,
                                                          protect(pieces, asked(q))))
            kept = [sum(1 for f in facts if f in t) for t in (html, withk, withq)]
            print("%-26s %-3d %5d %5d %7d %7d %7d %7d  %d/%d/%d of %d" % (
                name, qi, len(runs), big, before, tokens(headroom, html, dd),
                tokens(headroom, withk, dd), tokens(headroom, withq, dd), *kept, len(facts)))


if __name__ == "__main__":
    main()
