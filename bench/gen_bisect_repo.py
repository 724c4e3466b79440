#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates the bisect benchmark repository with `git fast-import` (stdlib only, deterministic).

Shape (bench/README.md, "Bisect"): COMMITS commits on main's first-parent chain, about 1 % of them
merges of short side branches (2-3 commits) that touch only files under src/; every other commit
changes one of FILES files src/dNN/fNNN.txt. The first commit adds .promptops.toml (provider
`local`, kind "openai", at http://127.0.0.1:PORT/v1), evals/a.jsonl (20 cases that expect "ok")
and prompts/a.toml, revision 1. The prompt then changes on VERSIONS - 1 mainline commits spread
over the history (revisions 2..VERSIONS): revisions before BAD_FROM say "Hey {{who}}!", the others
"Yo {{who}}!". With the server rule {"when": ["Hey"], "answer": "ok"} the "Hey" versions score 1.0
and the "Yo" versions (echoed) 0.0, so the first bad commit is the one that made revision BAD_FROM.

After the import: `git repack -adf`, `git commit-graph write --reachable`, and OUT/.git/bench-bisect.json
with the port, the commits that made each revision, and the first bad commit.

Usage: gen_bisect_repo.py --out DIR --port PORT [--commits 10000] [--versions 50] [--bad-from 37]
                          [--files 300] [--cases 20] [--seed 1]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

AUTHOR = b"Bench Generator <bench@example.com>"
EPOCH = 1600000000
WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
         "sigma tau upsilon phi chi psi omega").split()


def config_toml(port):
    return ("[providers.local]\n"
            'kind = "openai"\n'
            'base_url = "http://127.0.0.1:%d/v1"\n'
            "retry_delay = 0.01\n"
            "\n"
            "[defaults.model]\n"
            'provider = "local"\n'
            'name = "test-model"\n' % port)


def prompt_toml(revision, bad_from):
    word = "Yo" if revision >= bad_from else "Hey"
    return ('template = "%s {{who}}! (rev %d)"\n'
            "\n"
            "[vars]\n"
            "who = { required = true }\n"
            "\n"
            "[eval]\n"
            'dataset = "evals/a.jsonl"\n'
            'metric = "accuracy"\n' % (word, revision))


def cases_jsonl(count):
    return "".join('{"id": "c%02d", "vars": {"who": "Name%02d"}, "expected": "ok"}\n' % (i, i)
                   for i in range(1, count + 1))


class Generator:
    def __init__(self, args, pipe):
        self.args = args
        self.rng = random.Random(args.seed)
        self.pipe = pipe
        self.parts = []
        self.size = 0
        self.mark = 0
        self.clock = EPOCH
        self.src = {}  # path -> lines, main's state
        self.paths = []
        self.revision_marks = {}  # revision -> mark of the commit that made it

    def write(self, data):
        self.parts.append(data)
        self.size += len(data)
        if self.size > (1 << 22):
            self.flush()

    def flush(self):
        if self.parts:
            self.pipe.write(b"".join(self.parts))
            self.parts = []
            self.size = 0

    def line(self):
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(4, 9)))

    def touch(self, state):
        """Changes one src file of `state`; returns its path."""
        path = self.rng.choice(self.paths)
        lines = list(state[path])
        if len(lines) < 20 and self.rng.random() < 0.5:
            lines.append(self.line())
        else:
            lines[self.rng.randint(1, len(lines) - 1)] = self.line()
        state[path] = lines
        return path

    @staticmethod
    def blob(path, text):
        data = text.encode()
        return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)

    def commit(self, ref, message, files, parent=None, merge=None):
        """`files`: path -> text. Returns the commit's mark."""
        self.mark += 1
        self.clock += 60
        out = [b"commit %s\nmark :%d\n" % (ref, self.mark),
               b"author %s %d +0000\ncommitter %s %d +0000\n" % (AUTHOR, self.clock, AUTHOR, self.clock)]
        msg = message.encode()
        out.append(b"data %d\n%s\n" % (len(msg), msg))
        if parent is not None:
            out.append(b"from :%d\n" % parent)
        if merge is not None:
            out.append(b"merge :%d\n" % merge)
        for path in sorted(files):
            out.append(self.blob(path, files[path]))
        out.append(b"\n")
        self.write(b"".join(out))
        return self.mark

    def src_text(self, state, path):
        return "\n".join(state[path]) + "\n"

    def run(self):
        args = self.args
        rng = self.rng
        dirs = 10
        for d in range(dirs):
            for f in range(args.files // dirs):
                path = "src/d%02d/f%03d.txt" % (d, f)
                self.paths.append(path)
                self.src[path] = [path] + [self.line() for _ in range(rng.randint(3, 8))]
        first = {path: self.src_text(self.src, path) for path in self.paths}
        first[".promptops.toml"] = config_toml(args.port)
        first["evals/a.jsonl"] = cases_jsonl(args.cases)
        first["prompts/a.toml"] = prompt_toml(1, args.bad_from)
        first["README.md"] = "# bisect benchmark repository\ngenerated by bench/gen_bisect_repo.py\n"
        main = self.commit(b"refs/heads/main", "initial import: prompt a, revision 1", first)
        self.revision_marks[1] = main

        # Mainline steps 1..COMMITS-1 (the first commit is step 0). Merges: ~1 %, at least 20
        # steps apart from the ends; prompt changes: one per segment of (COMMITS-1)/(VERSIONS-1)
        # steps, at a jittered position, never on a merge.
        steps = args.commits - 1
        merges = set(rng.sample(range(20, steps - 20), args.commits // 100))
        prompt_steps = {}
        segment = steps / (args.versions - 1)
        for revision in range(2, args.versions + 1):
            low = int((revision - 2) * segment) + 1
            high = max(low, int((revision - 1) * segment))
            step = rng.randint(low, high)
            while step in merges or step in prompt_steps.values():
                step = step + 1 if step < high else low
            prompt_steps[revision] = step
        revision_at = {step: revision for revision, step in prompt_steps.items()}

        for step in range(1, steps + 1):
            if step in merges:
                side_state = dict(self.src)
                side = None
                touched = set()
                for k in range(rng.randint(2, 3)):
                    path = self.touch(side_state)
                    touched.add(path)
                    side = self.commit(b"refs/heads/_side", "side %d: work %d" % (step, k),
                                       {path: self.src_text(side_state, path)},
                                       parent=main if k == 0 else None)
                for path in touched:
                    self.src[path] = side_state[path]
                main = self.commit(b"refs/heads/main", "Merge branch 'side-%d'" % step,
                                   {path: self.src_text(self.src, path) for path in touched}, merge=side)
                continue
            path = self.touch(self.src)
            files = {path: self.src_text(self.src, path)}
            message = "change %d" % step
            if step in revision_at:
                revision = revision_at[step]
                files["prompts/a.toml"] = prompt_toml(revision, args.bad_from)
                message = "prompt a: revision %d" % revision
            main = self.commit(b"refs/heads/main", message, files)
            if step in revision_at:
                self.revision_marks[revision_at[step]] = main
            if step % 2000 == 0:
                print("gen_bisect_repo.py: %d mainline commits" % step, file=sys.stderr)
        self.flush()
        return len(merges)


FAST_MALLOC = dict(os.environ, MALLOC_TRIM_THRESHOLD_="2000000000", MALLOC_TOP_PAD_="67108864")


def git(repo, *argv, capture=False):
    result = subprocess.run(["git", "-C", repo] + list(argv), check=True, env=FAST_MALLOC,
                            stdout=subprocess.PIPE if capture else None)
    return result.stdout.decode() if capture else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="repository directory to create (must not exist)")
    parser.add_argument("--port", type=int, required=True, help="the model server's port in base_url")
    parser.add_argument("--commits", type=int, default=10000, help="commits on main's first-parent chain")
    parser.add_argument("--versions", type=int, default=50, help="versions of prompts/a.toml")
    parser.add_argument("--bad-from", type=int, default=37, help="the first revision that says Yo")
    parser.add_argument("--files", type=int, default=300, help="files under src/")
    parser.add_argument("--cases", type=int, default=20, help="cases in evals/a.jsonl")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if os.path.exists(args.out):
        sys.exit("gen_bisect_repo.py: %s already exists" % args.out)
    if not 2 <= args.bad_from <= args.versions or args.commits < 4 * args.versions or args.commits < 200:
        sys.exit("gen_bisect_repo.py: needs 2 <= --bad-from <= --versions and --commits >= max(200, 4 x --versions)")
    started = time.time()
    subprocess.run(["git", "init", "-q", "-b", "main", args.out], check=True)
    git(args.out, "config", "gc.auto", "0")
    marks = tempfile.NamedTemporaryFile(prefix="bisect-marks-", delete=False)
    marks.close()
    importer = subprocess.Popen(["git", "-C", args.out, "fast-import", "--quiet", "--done",
                                 "--export-marks=" + marks.name], stdin=subprocess.PIPE, env=FAST_MALLOC)
    try:
        generator = Generator(args, importer.stdin)
        merges = generator.run()
        importer.stdin.write(b"done\n")
        importer.stdin.close()
        if importer.wait() != 0:
            raise RuntimeError("git fast-import failed")
        with open(marks.name) as f:
            sha_of = dict((int(mark[1:]), sha) for mark, sha in (line.split() for line in f))
    except BaseException:
        importer.kill()
        importer.wait()
        shutil.rmtree(args.out, ignore_errors=True)
        raise
    finally:
        os.unlink(marks.name)
    git(args.out, "update-ref", "-d", "refs/heads/_side")
    git(args.out, "repack", "-adfq")
    git(args.out, "prune-packed")
    git(args.out, "commit-graph", "write", "--reachable")
    git(args.out, "reset", "-q", "--hard", "main")
    first_parent = int(git(args.out, "rev-list", "--first-parent", "--count", "main", capture=True))
    reachable = int(git(args.out, "rev-list", "--count", "main", capture=True))
    revisions = {str(r): sha_of[m] for r, m in sorted(generator.revision_marks.items())}
    info = {"port": args.port, "commits_first_parent": first_parent, "commits_reachable": reachable,
            "merges": merges, "versions": args.versions, "bad_from": args.bad_from,
            "first_bad": revisions[str(args.bad_from)], "last_good": revisions[str(args.bad_from - 1)],
            "revisions": revisions}
    with open(os.path.join(args.out, ".git", "bench-bisect.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print("gen_bisect_repo.py: %d first-parent commits (%d merges), %d reachable, %d versions, in %.0f s"
          % (first_parent, merges, reachable, args.versions, time.time() - started), file=sys.stderr)


if __name__ == "__main__":
    main()
