#!/bin/sh
# Makes noto-sans-sc-subset.woff2: Noto Sans CJK SC Regular cut down to the Chinese characters the page can show
# (its own text, the result record's and the assistant's, the emotion2vec+ label names and the WebUI's names for
# them), so the page renders 中文 without a CJK font on the machine, in a few kilobytes. The font's licence (SIL
# Open Font License 1.1) stays in its name table. Run again after adding Chinese text to those files:
#   ./make-font.sh /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
# (Debian: fonts-noto-cjk, or `apt-get download fonts-noto-cjk` and `dpkg-deb -x`; needs python3-fonttools and
# python3-brotli; PYTHON names another interpreter). test/web/font.test.ts checks that the font covers every such character.
set -eu
font=${1:?usage: make-font.sh path/to/NotoSansCJK-Regular.ttc}
cd "$(dirname "$0")"
src=../..
# The emotion2vec+ labels (tokens.txt) and the names the WebUI's documentation uses for them.
names='生气厌恶恐惧开心中立其他难过吃惊未知快乐愤怒悲伤惊讶中性'
text=$( (printf '%s' "$names"; cat "$src"/web/*.ts "$src"/web/*.css "$src"/results/*.ts "$src"/assistant/*.ts) |
  LC_ALL=C.UTF-8 grep -oP '[\x{3000}-\x{303f}\x{4e00}-\x{9fff}\x{ff00}-\x{ffef}]' | LC_ALL=C.UTF-8 sort -u | tr -d '\n')
# Collection index 2 is the Simplified Chinese face of the .ttc.
"${PYTHON:-python3}" -m fontTools.subset "$font" --font-number=2 --text="$text" --flavor=woff2 --no-hinting --desubroutinize \
  --layout-features='' --name-IDs='*' --output-file=noto-sans-sc-subset.woff2
printf '%s characters: %s\n' "$(printf '%s' "$text" | wc -m)" "$text"
