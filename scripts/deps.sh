#!/usr/bin/env bash
# Installs the system packages Council's build and tests need, only if
# missing: cmake and libclang (llama.cpp is compiled from source by
# llama-cpp-sys-2, whose bindgen needs libclang and clang's headers);
# chromium (prints PDF reports) and chromium-driver (the web app's tests
# drive it through WebDriver), fonts-noto-cjk (Chinese text in PDF and in
# the DOCX's charts) and poppler-utils (the export tests read PDFs back with
# pdftotext and pdftoppm), man-db (the tests render `council man` with
# `man -l`). Debian/Ubuntu only.
set -euo pipefail

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null && sudo_cmd=(sudo) || { echo "deps: not root and no sudo; install cmake libclang1-14 libclang-common-14-dev chromium chromium-driver fonts-noto-cjk poppler-utils man-db by hand" >&2; exit 1; }
fi

have_libclang() {
  ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/x86_64-linux-gnu/libclang-*.so* >/dev/null 2>&1 \
    && ls /usr/lib/llvm-*/lib/clang/*/include/stdbool.h >/dev/null 2>&1
}

# grep reads all of fc-list's output: with -q it would stop early, and
# pipefail would count fc-list's broken pipe as a missing font.
have_cjk_font() {
  ls /usr/share/fonts/opentype/noto/NotoSansCJK*.tt[cf] >/dev/null 2>&1 \
    || fc-list : family 2>/dev/null | grep "Noto Sans CJK" >/dev/null
}

missing=()
command -v cmake >/dev/null || missing+=(cmake)
have_libclang || missing+=(libclang)
command -v python3 >/dev/null || missing+=(python3 python3-pip)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
have_cjk_font || missing+=(fonts-noto-cjk)
{ command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null; } || missing+=(poppler-utils)
command -v man >/dev/null || missing+=(man-db)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "deps: missing ${missing[*]}; install them with your package manager (cmake, libclang and clang headers, python3 with pip and venv, chromium and its chromedriver, Noto CJK fonts, poppler's pdftotext and pdftoppm, man)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
pkgs=()
for m in "${missing[@]}"; do
  if [ "$m" = libclang ]; then
    if apt-cache show libclang1-14 >/dev/null 2>&1; then
      pkgs+=(libclang1-14 libclang-common-14-dev)
    else
      pkgs+=(libclang-dev)
    fi
  else
    pkgs+=("$m")
  fi
done
"${sudo_cmd[@]}" apt-get install -y -qq "${pkgs[@]}" >/dev/null
