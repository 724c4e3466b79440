#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job: install what is missing, build, make a sample prompt repository with a few
# commits of history, evaluate its prompt versions with a model and show the scores.
# Usage: scripts/demo.sh [DIR]   (default /tmp/promptops-demo; it is recreated)
# The model: gpt-4o-mini when OPENAI_API_KEY is set, else the first model of an Ollama server
# on 127.0.0.1:11434, else an offline stand-in (a shell script in the sample repository).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
demo=${1:-/tmp/promptops-demo}

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target git-promptops git-promptops-core >/dev/null
PATH="$top/build/bin:$PATH"
export PATH

# The body of Ollama's model list, or nothing when no server answers within a second. curl is
# not among the build dependencies, so bash's /dev/tcp stands in for it.
ollama_tags() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -m 1 http://127.0.0.1:11434/api/tags 2>/dev/null || true
  elif command -v bash >/dev/null 2>&1; then
    timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/11434 &&
      printf "GET /api/tags HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' 2>/dev/null || true
  fi
}

if [ -n "${OPENAI_API_KEY:-}" ]; then
  provider=openai
  model=gpt-4o-mini
  about="$model at https://api.openai.com/v1 (OPENAI_API_KEY is set)"
else
  model=$(ollama_tags | grep -o '"name": *"[^"]*"' | head -n 1 | sed 's/^"name": *"\(.*\)"$/\1/' || true)
  if [ -n "$model" ]; then
    provider=local
    about="$model, served by Ollama at http://127.0.0.1:11434/v1"
  else
    provider=offline
    model=stand-in-model
    about="$model, an offline stand-in: tools/stand-in-model in the sample repository answers by keyword rules (set OPENAI_API_KEY or start Ollama for a real model)"
  fi
fi

rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"
export GIT_AUTHOR_NAME="Demo Author" GIT_AUTHOR_EMAIL="demo@example.com"
export GIT_COMMITTER_NAME="Demo Author" GIT_COMMITTER_EMAIL="demo@example.com"
git init -q -b main
git promptops init >/dev/null

# The scaffold, with three providers to choose from and the demo's choice as the default model.
cat >.promptops.toml <<EOF
# git-promptops project configuration (written by scripts/demo.sh). See git-promptops(1).
prompts = ["prompts"]
patterns = ["*.toml", "*.prompt"]

[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"    # the key is read from the environment, never a file
max_concurrency = 16

[providers.local]                 # Ollama; vLLM and llama.cpp servers work the same way
kind = "openai"
base_url = "http://127.0.0.1:11434/v1"
max_concurrency = 4
timeout = 300

[providers.offline]               # the demo's stand-in model: a shell script, no network
kind = "exec"
command = ["sh", "tools/stand-in-model"]

[defaults.model]
provider = "$provider"
name = "$model"
temperature = 0

[prices."gpt-4o-mini"]            # per million tokens, for the COST column
input = 0.15
output = 0.60

[defaults.gate]
max_drop = { accuracy = 0.02 }
confidence = 0.95
EOF

# v1: the scope is the template's, "cards, payment accounts, iPay".
cat >prompts/support/classify.toml <<'EOF'
description = "Is a customer question inside the bank's business scope?"
tags = ["support", "classifier"]

[model]
max_tokens = 16

[vars]
question = { required = true, description = "the customer's question" }
scope = { default = "cards, payment accounts, iPay", description = "what the bank covers" }

[[messages]]
role = "system"
content = """
You triage questions for a bank's support team. Decide whether the question is about {{scope}}.
Answer with exactly one word: IN_SCOPE or OUT_OF_SCOPE."""

[[messages]]
role = "user"
content = "{{question}}"

[eval]
dataset = "evals/classify.jsonl"
metric = "accuracy"
assert = [{ type = "equals", value = "{{expected}}", trim = true, ignore_case = true }]

[gate]
min = { accuracy = 0.80 }
max_drop = { accuracy = 0.05 }
EOF

# The bank's business also covers PINs, IBANs, transfers and loans.
cat >evals/classify.jsonl <<'EOF'
{"id": "card-lost", "vars": {"question": "I lost my debit card, how do I block it?"}, "expected": "IN_SCOPE"}
{"id": "ipay-limit", "vars": {"question": "What is the daily limit for iPay payments?"}, "expected": "IN_SCOPE"}
{"id": "account-fee", "vars": {"question": "Is there a monthly fee on the payment account?"}, "expected": "IN_SCOPE"}
{"id": "pin-forgotten", "vars": {"question": "I forgot my PIN, what now?"}, "expected": "IN_SCOPE"}
{"id": "iban", "vars": {"question": "Where do I find my IBAN?"}, "expected": "IN_SCOPE"}
{"id": "transfer-abroad", "vars": {"question": "How long does a transfer to Germany take?"}, "expected": "IN_SCOPE"}
{"id": "loan-car", "vars": {"question": "Can I get a loan for a new car?"}, "expected": "IN_SCOPE"}
{"id": "weather", "vars": {"question": "Will it rain in Riga tomorrow?"}, "expected": "OUT_OF_SCOPE"}
{"id": "egg", "vars": {"question": "How long do I boil an egg?"}, "expected": "OUT_OF_SCOPE"}
{"id": "crypto", "vars": {"question": "Which crypto coin should I buy?"}, "expected": "OUT_OF_SCOPE"}
{"id": "football", "vars": {"question": "Who won the football match last night?"}, "expected": "OUT_OF_SCOPE"}
{"id": "phone", "vars": {"question": "Which phone has the best camera?"}, "expected": "OUT_OF_SCOPE"}
EOF

mkdir -p tools
cat >tools/stand-in-model <<'EOF'
#!/bin/sh
# stand-in-model: an offline stand-in for a chat model, for the git-promptops demo. It reads one
# request as JSON on stdin ({"messages": [...], "model": ..., "params": ...}) and answers IN_SCOPE
# when the question mentions a banking topic that the system message names too, else
# OUT_OF_SCOPE: a prompt that names more of the bank's topics classifies more questions right.
# Deterministic, and needs only sh, tr and sed.
set -eu
request=$(cat)
# The messages' keys are sorted: the system message's text comes before "role":"system", the
# user's after it.
case $request in
  *'"role":"system"'*)
    system=${request%%'"role":"system"'*}
    user=${request#*'"role":"system"'}
    ;;
  *)
    system=""
    user=$request
    ;;
esac
# Lower-case words separated by single spaces, without JSON escapes.
words() {
  printf ' %s ' "$1" | sed 's/\\[nrt"\\]/ /g' | tr '[:upper:]' '[:lower:]' | tr -c '[:lower:][:digit:]' ' ' | tr -s ' '
}
system=$(words "$system")
user=$(words "$user")
for topic in card pin account iban ipay transfer loan; do
  case $user in
    *" $topic"*)
      case $system in
        *" $topic"*)
          echo IN_SCOPE
          exit 0
          ;;
      esac
      ;;
  esac
done
echo OUT_OF_SCOPE
EOF
chmod +x tools/stand-in-model
git add -A && git commit -q -m "Add the support classifier prompt"

# v2: name PINs and IBANs too.
sed -i 's/^scope = { default = "cards, payment accounts, iPay"/scope = { default = "cards and their PINs, payment accounts and IBANs, iPay"/' \
  prompts/support/classify.toml
git commit -q -am "classify: say what the bank offers"

echo "# Demo project" >README.md
git add README.md && git commit -q -m "Add a README (no prompt change)"

# v3: transfers and loans as well.
sed -i 's/^scope = { default = "cards and their PINs, payment accounts and IBANs, iPay"/scope = { default = "cards and their PINs, payment accounts and IBANs, iPay, transfers, loans"/' \
  prompts/support/classify.toml
git commit -q -am "classify: cover transfers and loans"
git promptops alias set support/classify production v2 -m "reviewed in the demo" >/dev/null

echo "Model: $about"
if [ "$provider" = offline ]; then
  echo "Trusting the sample repository to run its exec provider: git config promptops.trustExec true"
  git config promptops.trustExec true
fi
echo
echo "\$ git promptops eval HEAD~3..HEAD   # v2, an unrelated commit, v3 (HEAD~3 is v1, left out as in git)"
if ! git promptops eval HEAD~3..HEAD; then
  echo "demo: $model did not answer every case; without OPENAI_API_KEY and Ollama the demo uses its offline stand-in" >&2
  exit 1
fi
echo
echo "\$ git promptops eval HEAD~3..HEAD >/dev/null   # again: everything comes from the cache"
git promptops eval HEAD~3..HEAD >/dev/null
echo
echo "\$ git promptops log support/classify   # METRIC comes from the git notes that eval wrote"
git promptops log support/classify
echo
echo "The sample repository is in $demo; share its scores with: git push origin refs/notes/promptops"
echo "The manual is built in: git promptops help [COMMAND]. For man git-promptops and git promptops --help too,"
echo "and tab completion: cmake --install $top/build   (or, for this shell: source <(git promptops completion bash))"
