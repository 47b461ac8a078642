#!/bin/sh
# tests/fuzz/run.sh DIR SECONDS — runs every fuzzer in DIR/fuzzers for
# SECONDS each, its corpus seeded from the test fixtures.  Exit 1 when any
# fuzzer found a crash (the input is kept in DIR/crashes).
DIR=$1
SECS=${2:-60}
status=0
mkdir -p "$DIR/crashes"
for f in "$DIR"/fuzzers/fuzz_*; do
	name=$(basename "$f")
	case "$name" in
	fuzz_image) seeds=tests/data/images ;;
	fuzz_npy) seeds=tests/data/npy ;;
	fuzz_ptar) seeds="tests/data/ptar samples/models" ;;
	fuzz_cloud) seeds=tests/data/cloud ;;
	fuzz_manifest) seeds="tests/data/manifest samples" ;;
	fuzz_tar) seeds=tests/data/tar ;;
	fuzz_imgstream) seeds=tests/data/images ;;
	*) seeds= ;;
	esac
	corpus="$DIR/corpus/$name"
	mkdir -p "$corpus"
	for s in $seeds; do
		find "$s" -maxdepth 1 -type f -size -1048576c -exec cp {} "$corpus/" \; 2>/dev/null
	done
	echo "fuzz: $name for ${SECS}s" >&2
	if "$f" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$DIR/crashes/$name-" "$corpus" >"$DIR/$name.log" 2>&1; then
		echo "fuzz: $name: $(grep -E 'stat::number_of_executed_units' "$DIR/$name.log" | awk '{print $2}') runs, no crash" >&2
	else
		echo "fuzz: $name: FOUND A PROBLEM, see $DIR/$name.log and $DIR/crashes/" >&2
		tail -n 30 "$DIR/$name.log" >&2
		status=1
	fi
done
exit $status
