# Corpus scale with the real binary: webdataset-style tar shards (named,
# on stdin, pax and GNU long names, cut short, sharded, resumed after
# kill -9, a 512 MiB member skipped in bounded memory) and image streams
# from ffmpeg (MJPEG and PNG, --every, cut mid-image, a record out while the
# stream is still open).  The image-stream part prints SKIP without ffmpeg.
. tests/cli/lib.sh

# $TMP/shard.tar: webdataset keys 000000..000009 (.jpg or .png, each with a
# .json), a directory, a text member, a dot file; $TMP/d600.tar: 600 PNGs;
# $TMP/pax.tar and $TMP/gnu.tar: long names; $TMP/nested.tar: a tar in a tar
"$PY" - "$TMP" <<'PYEOF'
import io, os, sys, tarfile, numpy as np
from PIL import Image
tmp = sys.argv[1]
x = np.load(os.path.join(os.environ.get("ROOT", "."), "samples/data/mnist-holdout.npy"))

def img(i, fmt):
    b = io.BytesIO()
    Image.fromarray(x[i]).save(b, fmt)
    return b.getvalue()

def add(t, name, data=b"", kind=tarfile.REGTYPE):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

with tarfile.open(f"{tmp}/shard.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    add(t, "sub", kind=tarfile.DIRTYPE)
    for k in range(10):
        add(t, f"{k:06d}.jpg" if k % 2 == 0 else f"{k:06d}.png", img(k, "JPEG" if k % 2 == 0 else "PNG"))
        add(t, f"{k:06d}.json", b'{"caption": "a digit"}')
        if k == 3:
            add(t, "notes.txt", b"not an input\n")
            add(t, "._000003.png", b"AppleDouble junk")
with tarfile.open(f"{tmp}/d600.tar", "w") as t:
    for k in range(600):
        add(t, f"{k:04d}.png", img(k, "PNG"))
long = "l" * 120 + "/" + "n" * 130 + ".png"
for fmt, name in [(tarfile.PAX_FORMAT, "pax"), (tarfile.GNU_FORMAT, "gnu")]:
    with tarfile.open(f"{tmp}/{name}.tar", "w", format=fmt) as t:
        add(t, long, img(0, "PNG"))
        add(t, "short.png", img(1, "PNG"))
with tarfile.open(f"{tmp}/nested.tar", "w") as t:
    add(t, "a.png", img(0, "PNG"))
    add(t, "inner.tar", open(f"{tmp}/pax.tar", "rb").read())
    add(t, "b.png", img(1, "PNG"))
# where 000003.png's data starts and ends in shard.tar
with tarfile.open(f"{tmp}/shard.tar") as t:
    m = t.getmember("000003.png")
    open(f"{tmp}/cut_at", "w").write(f"{m.offset_data + m.size // 2}\n")
PYEOF
SHARD=$TMP/shard.tar
WANT="['$SHARD/%06d.%s' % (k, 'jpg' if k % 2 == 0 else 'png') for k in range(10)]"

# a named shard: its image members, in member order, nothing else
expect tar/named 0 "$T" run -m digits -q "$SHARD"
records tar/named/members "$TMP/out" "[r['input'] for r in R] == $WANT and all(r['ok'] for r in R)"
cp "$TMP/out" "$TMP/named.jsonl"

# the same bytes on stdin, from a file and from a pipe: -/MEMBER, the same results
expect tar/stdin 0 "$T" run -m digits -q - <"$SHARD"
records tar/stdin/members "$TMP/out" "[r['input'] for r in R] == [n.replace('$SHARD', '-') for n in $WANT]"
cat "$SHARD" | "$T" run -m digits -q - >"$TMP/piped.jsonl" 2>"$TMP/err"
records tar/pipe/same-results "$TMP/piped.jsonl" \
	"[(r['input'], r['top']) for r in R] == [(r['input'].replace('$SHARD', '-'), r['top']) for r in (__import__('json').loads(l) for l in open('$TMP/named.jsonl'))]"

# a shard inside a folder is read too; -T lists it like any file
mkdir "$TMP/dir" && cp "$SHARD" "$TMP/dir/s.tar" && cp "$DIGITS/d0_7.png" "$TMP/dir/"
expect tar/in-folder 0 "$T" run -m digits -q "$TMP/dir"
records tar/in-folder/members "$TMP/out" "len(R) == 11 and R[0]['input'].endswith('/d0_7.png') and R[1]['input'] == '$TMP/dir/s.tar/000000.jpg'"

# pax and GNU long names (past the 100 bytes of a ustar name)
for f in pax gnu; do
	expect tar/$f 0 "$T" run -m digits -q "$TMP/$f.tar"
	records tar/$f/long-name "$TMP/out" "[r['input'] for r in R] == ['$TMP/$f.tar/' + 'l' * 120 + '/' + 'n' * 130 + '.png', '$TMP/$f.tar/short.png'] and all(r['ok'] for r in R)"
done

# a tar inside a tar: an error record of its own, the members around it read
expect tar/nested 1 "$T" run -m digits -q "$TMP/nested.tar"
records tar/nested/records "$TMP/out" "[(r['input'][len('$TMP/nested.tar/'):], r['ok']) for r in R] == [('a.png', True), ('inner.tar', False), ('b.png', True)] and 'inside a tar' in R[1]['error']"

# cut inside 000003.png: the members before it ok, it gets the error, exit 1
head -c "$(cat "$TMP/cut_at")" "$SHARD" >"$TMP/cut.tar"
expect tar/truncated 1 "$T" run -m digits -q "$TMP/cut.tar" "$DIGITS/d0_7.png"
records tar/truncated/records "$TMP/out" "[r['input'][len('$TMP/cut.tar/'):] for r in R[:4]] == ['000000.jpg', '000001.png', '000002.jpg', '000003.png'] and all(r['ok'] for r in R[:3]) and not R[3]['ok'] and 'truncated' in R[3]['error'] and len(R) == 5 and R[4]['ok']"
head -c "$(cat "$TMP/cut_at")" "$SHARD" | "$T" run -m digits -q - >"$TMP/out" 2>"$TMP/err"
[ $? -eq 1 ] && pass tar/truncated-stdin || fail tar/truncated-stdin "exit status not 1"
records tar/truncated-stdin/records "$TMP/out" "len(R) == 4 and R[3]['input'] == '-/000003.png' and 'truncated' in R[3]['error']"

# a shard named as an input with no input in it gets one record, as a folder does;
# one found in a folder does not
"$PY" -c "
import io, tarfile
with tarfile.open('$TMP/json-only.tar', 'w') as t:
    i = tarfile.TarInfo('000000.json'); i.size = 2; t.addfile(i, io.BytesIO(b'{}'))"
expect tar/no-inputs 1 "$T" run -m digits -q "$TMP/json-only.tar"
records tar/no-inputs/record "$TMP/out" "[(r['input'], r['error']) for r in R] == [('$TMP/json-only.tar', 'tar shard holds no input files')]"
mkdir "$TMP/dir2" && cp "$TMP/json-only.tar" "$DIGITS/d0_7.png" "$TMP/dir2/"
expect tar/no-inputs-in-folder 0 "$T" run -m digits -q "$TMP/dir2"
records tar/no-inputs-in-folder/records "$TMP/out" "[r['input'] for r in R] == ['$TMP/dir2/d0_7.png']"

# not a tar at all: one error record named after the file
head -c 3000 /dev/urandom >"$TMP/junk.tar"
expect tar/junk 1 "$T" run -m digits -q "$TMP/junk.tar"
records tar/junk/record "$TMP/out" "len(R) == 1 and R[0]['input'] == '$TMP/junk.tar' and 'not a tar archive' in R[0]['error']"

# --shard: positions count inputs (members that are images) only; the shards partition them
for i in 0 1 2; do
	"$T" run -m digits -q --shard $i/3 -o "$TMP/sh$i.jsonl" "$SHARD" 2>>"$TMP/err"
done
records tar/shard/positions "$TMP/sh1.jsonl" "[r['input'] for r in R] == $WANT[1::3]"
cat "$TMP/sh0.jsonl" "$TMP/sh1.jsonl" "$TMP/sh2.jsonl" >"$TMP/union.jsonl"
records tar/shard/union "$TMP/union.jsonl" "sorted(r['input'] for r in R) == sorted($WANT)"

# kill -9 in the middle of a shard, then --resume: one ok record per member
# (the shard comes through a FIFO whose writer stops half-way, so that the
# run cannot finish before the kill however fast the machine is)
mkfifo "$TMP/fifo"
half=$(($(wc -c <"$TMP/d600.tar") / 2))
(head -c $half "$TMP/d600.tar"; exec sleep 60) >"$TMP/fifo" 2>/dev/null &
wpid=$!
"$T" run -m digits -b 1 -j 1 -q -o "$TMP/res.jsonl" - <"$TMP/fifo" &
pid=$!
wait_lines "$TMP/res.jsonl" 40
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
kill $wpid 2>/dev/null
wait $wpid 2>/dev/null
n=$(wc -l <"$TMP/res.jsonl")
[ "$n" -ge 40 ] && [ "$n" -lt 600 ] && pass tar/kill9/partial || fail tar/kill9/partial "$n records after the kill"
expect tar/kill9/resume 0 "$T" run -m digits -b 16 --resume -o "$TMP/res.jsonl" --report "$TMP/rep.json" - <"$TMP/d600.tar"
records tar/kill9/one-ok-record-each "$TMP/res.jsonl" \
	"sorted(r['input'] for r in R) == ['-/%04d.png' % k for k in range(600)] and all(r['ok'] for r in R)"
records tar/kill9/skipped "$TMP/rep.json" "R[0]['skipped'] >= 40 and R[0]['skipped'] + R[0]['ok'] == 600"
# the same from stdin: members of "-" resume as -/MEMBER
"$T" run -m digits -q --shard 0/2 -o "$TMP/res2.jsonl" - <"$TMP/d600.tar" 2>"$TMP/err"
expect tar/stdin-resume 0 "$T" run -m digits -q --resume -o "$TMP/res2.jsonl" --report "$TMP/rep.json" - <"$TMP/d600.tar"
records tar/stdin-resume/records "$TMP/res2.jsonl" \
	"sorted(r['input'] for r in R) == ['-/%04d.png' % k for k in range(600)]"
records tar/stdin-resume/skipped "$TMP/rep.json" "R[0]['skipped'] == 300 and R[0]['ok'] == 300"

# a shard piped in is read as it comes: the first member's record is out while the writer holds the pipe open
"$PY" - "$TMP" <<'PYEOF'
import sys, tarfile
tmp = sys.argv[1]
with open(f"{tmp}/shard.tar", "rb") as f:
    t = tarfile.open(fileobj=f)
    first = t.getmember("000000.jpg")
    cut = first.offset_data + first.size + (-first.size) % 512
f = open(f"{tmp}/shard.tar", "rb")
open(f"{tmp}/part1", "wb").write(f.read(cut))
open(f"{tmp}/part2", "wb").write(f.read())
PYEOF
mkfifo "$TMP/tarfifo"
"$T" run -m digits -q -b 8 -o "$TMP/tarlive.jsonl" - <"$TMP/tarfifo" 2>"$TMP/tarlive.err" &
pid=$!
exec 3>"$TMP/tarfifo"
cat "$TMP/part1" >&3
wait_lines "$TMP/tarlive.jsonl" 1
records tar/live/record-while-open "$TMP/tarlive.jsonl" "[r['input'] for r in R] == ['-/000000.jpg']"
cat "$TMP/part2" >&3
exec 3>&-
wait $pid
rc=$?
[ $rc -eq 0 ] && pass tar/live/exit || fail tar/live/exit "exit $rc: $(cat "$TMP/tarlive.err")"
records tar/live/all "$TMP/tarlive.jsonl" "[r['input'] for r in R] == [n.replace('$SHARD', '-') for n in $WANT]"

# a 512 MiB member that is not an input is read past in bounded memory (the
# archive is sparse on disk); peak RSS against the same shard without it
"$PY" - "$TMP" <<'PYEOF'
import io, os, sys, tarfile
tmp = sys.argv[1]
png = open(os.path.join(os.environ.get("ROOT", "."), "samples/inputs/digits/d0_7.png"), "rb").read()
def member(f, name, size, data=None):
    i = tarfile.TarInfo(name)
    i.size = size
    f.write(i.tobuf(tarfile.USTAR_FORMAT))
    if data is None:
        f.seek(size + (-size) % 512, 1)  # a hole: zeros that take no disk
    else:
        f.write(data + b"\0" * ((-size) % 512))
for name, big in [("small", 0), ("big", 512 << 20)]:
    with open(f"{tmp}/{name}.tar", "wb") as f:
        member(f, "a.png", len(png), png)
        if big:
            member(f, "big.bin", big)
        member(f, "b.png", len(png), png)
        f.write(b"\0" * 1024)
PYEOF
expect tar/big-member 0 "$T" run -m digits -q --report "$TMP/big.json" "$TMP/big.tar"
records tar/big-member/records "$TMP/out" "[r['input'] for r in R] == ['$TMP/big.tar/a.png', '$TMP/big.tar/b.png']"
"$T" run -m digits -q --report "$TMP/small.json" "$TMP/small.tar" >/dev/null 2>&1
cat "$TMP/big.tar" | "$T" run -m digits -q --report "$TMP/bigpipe.json" - >/dev/null 2>&1
"$PY" - "$TMP" <<'PYEOF'
import json, sys
tmp = sys.argv[1]
peak = {n: json.load(open(f"{tmp}/{n}.json"))["ram_bytes"]["peak"] for n in ("small", "big", "bigpipe")}
for n in ("big", "bigpipe"):
    extra = (peak[n] - peak["small"]) / 2**20
    print(f"INFO 512 MiB member skipped ({n}): peak RSS {peak[n] / 2**20:.1f} MiB, {extra:+.1f} MiB over the shard without it")
    print(("PASS" if extra < 32 else "FAIL") + f" tar/big-member/{n}-memory" + ("" if extra < 32 else f": {extra:.1f} MiB more"))
PYEOF

# ---- image streams ----
if ! command -v ffmpeg >/dev/null 2>&1; then
	echo "SKIP image-stream: ffmpeg is not installed"
	exit 0
fi
ffmpeg -loglevel error -f lavfi -i testsrc=size=64x64:rate=10 -t 2 -pix_fmt yuv420p "$TMP/v.mp4" </dev/null
ffmpeg -loglevel error -i "$TMP/v.mp4" -f image2pipe -c:v mjpeg - </dev/null >"$TMP/frames.mjpeg"
ffmpeg -loglevel error -i "$TMP/v.mp4" -f image2pipe -c:v png - </dev/null >"$TMP/frames.png"
NF=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$TMP/v.mp4")
[ "${NF:-0}" -ge 10 ] && pass stream/video || fail stream/video "ffmpeg made ${NF:-no} frames"

ffmpeg -loglevel error -i "$TMP/v.mp4" -f image2pipe -c:v mjpeg - </dev/null | "$T" run -m digits -q --image-stream >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && pass stream/mjpeg || fail stream/mjpeg "exit status: $(cat "$TMP/err")"
records stream/mjpeg/frames "$TMP/out" "[r['input'] for r in R] == ['-#%d' % i for i in range($NF)] and all(r['ok'] and r['width'] == 64 for r in R)"
expect stream/every 0 "$T" run -m digits -q --image-stream --every 5 <"$TMP/frames.mjpeg"
records stream/every/frames "$TMP/out" "[r['input'] for r in R] == ['-#%d' % i for i in range(0, $NF, 5)]"
expect stream/png 0 "$T" run -m digits -q --image-stream <"$TMP/frames.png"
records stream/png/frames "$TMP/out" "[r['input'] for r in R] == ['-#%d' % i for i in range($NF)] and all(r['ok'] for r in R)"
# the same frames as PNG and as JPEG: the same classes mostly (JPEG is lossy); at least the names line up
cat "$TMP/frames.png" "$TMP/frames.mjpeg" | "$T" run -m digits -q --image-stream >"$TMP/out" 2>"$TMP/err"
records stream/mixed "$TMP/out" "len(R) == 2 * $NF and all(r['ok'] for r in R)"

# cut in the middle of frame 3: frames 0-2, then frame 3's error, exit 1
CUT=$("$PY" -c "
d = open('$TMP/frames.mjpeg', 'rb').read()
starts = [i for i in range(len(d) - 1) if d[i] == 0xff and d[i + 1] == 0xd8 and (i == 0 or d[i - 2:i] == b'\xff\xd9')]
print(starts[3] + 100)")
head -c "$CUT" "$TMP/frames.mjpeg" | "$T" run -m digits -q --image-stream >"$TMP/out" 2>"$TMP/err"
[ $? -eq 1 ] && pass stream/cut || fail stream/cut "exit status not 1"
records stream/cut/records "$TMP/out" "[(r['input'], r['ok']) for r in R] == [('-#0', True), ('-#1', True), ('-#2', True), ('-#3', False)] and 'ends inside image 3' in R[3]['error']"
printf 'GIF89a' | cat "$TMP/frames.png" - | "$T" run -m digits -q --image-stream >"$TMP/out" 2>"$TMP/err"
[ $? -eq 1 ] && pass stream/garbage || fail stream/garbage "exit status not 1"
records stream/garbage/records "$TMP/out" "len(R) == $NF + 1 and 'not a PNG or JPEG' in R[-1]['error'] and R[-1]['input'] == '-#$NF'"

# a live stream: one frame in a FIFO held open; its record must come out before the stream ends
ffmpeg -loglevel error -i "$TMP/v.mp4" -frames:v 1 -f image2pipe -c:v mjpeg - </dev/null >"$TMP/one.jpg"
mkfifo "$TMP/fifo"
"$T" run -m digits -q -b 8 --image-stream -o "$TMP/live.jsonl" <"$TMP/fifo" 2>"$TMP/live.err" &
pid=$!
exec 3>"$TMP/fifo"
cat "$TMP/one.jpg" >&3
wait_lines "$TMP/live.jsonl" 1
records stream/live/record-while-open "$TMP/live.jsonl" "[r['input'] for r in R] == ['-#0'] and R[0]['ok']"
kill -0 $pid 2>/dev/null && pass stream/live/still-running || fail stream/live/still-running "tinfer ended before its stdin did"
cat "$TMP/one.jpg" >&3
exec 3>&-
wait $pid
rc=$?
[ $rc -eq 0 ] && pass stream/live/exit || fail stream/live/exit "exit $rc: $(cat "$TMP/live.err")"
records stream/live/all "$TMP/live.jsonl" "[r['input'] for r in R] == ['-#0', '-#1']"

# usage: --image-stream takes no inputs
expect stream/usage 2 "$T" run -m digits --image-stream "$SHARD"
