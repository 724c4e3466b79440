// SPDX-License-Identifier: MIT
// The checker's own test tree: the CLI layer names its flags.
const char* k_hint = "name an older good revision: --good REV";
