# A real SLURM job array shards the inputs: a private one-node cluster
# (its own munged, slurmctld and slurmd, on free ports, everything in the
# test's temp folder) runs `sbatch --wait --array=1-3` and `--array=0-4:2`,
# each task running tinfer on its shard; the outputs must partition the
# inputs, task t holding exactly the inputs at positions p with
# p mod COUNT = (t - MIN) / STEP, every task exiting 0.
#
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge.  Without
# them (or with TINFER_TEST_SLURM=0) it prints "SKIP slurm/cluster: why" and
# runs the same job script for each task directly, with the SLURM_ARRAY_*
# variables SLURM would set: the shard arithmetic is still checked, the
# scheduler is not.  tests/run.sh counts only PASS and FAIL lines.
#
# Every daemon is started here as a child of this shell and stopped by its
# pid on every way out (the end, a failed step, INT, TERM, HUP); jobs still
# queued are cancelled first, and any process left whose working directory is
# inside the private cluster's folder (a job step outliving slurmd) is killed
# by pid.  Nothing is ever matched by name.  Timings: "INFO" lines.
. tests/cli/lib.sh

PATH=$PATH:/usr/sbin:/sbin
case $T in /*) ;; *) T=$ROOT/$T ;; esac
# the suite may itself run inside a SLURM job: its variables would steer sbatch
for v in $(env | sed -n 's/^\(\(SLURM\|SBATCH\|SQUEUE\|SINFO\|SCONTROL\|SALLOC\|SRUN\)_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

C=$TMP/c # the private cluster: config, munge key and socket, state, logs, jobs
MUNGED_PID= CTLD_PID= SLURMD_PID= WAIT_PIDS= ALL_PID=
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { awk "BEGIN { printf \"%.1f\", ($2 - $1) / 1000 }"; } # START_MS END_MS
info() { printf 'INFO %s\n' "$*"; }
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; } # quoted for sh

# job_command — the shell lines each array task runs, in its own folder, with
# $TINFER, $INPUTS and SLURM's environment; it writes the task's records to
# out.$SLURM_ARRAY_TASK_ID.jsonl and exits with tinfer's status.  The shard
# comes from SLURM's variables (--shard auto): task t holds the inputs at
# positions p with p mod SLURM_ARRAY_TASK_COUNT = (t - MIN) / STEP.
job_command() {
	echo '"$TINFER" run -m digits -j 1 -q --shard auto -o "out.$SLURM_ARRAY_TASK_ID.jsonl" "$INPUTS"'
}

# the job script: the command above, the task's exit status in exit.ID
# (sacct needs slurmdbd, and sbatch --wait reports only the highest status)
{
	echo '#!/bin/sh'
	echo "TINFER=$(shq "$T")"
	echo "INPUTS=$(shq "$DIGITS")"
	echo 'export TINFER INPUTS'
	echo 'env | grep "^SLURM_ARRAY_" | sort >"env.$SLURM_ARRAY_TASK_ID"'
	echo '('
	job_command
	echo ')'
	echo 'st=$?'
	echo 'echo $st >"exit.$SLURM_ARRAY_TASK_ID"'
	echo 'exit $st'
} >"$TMP/job.sh"
chmod +x "$TMP/job.sh"

# array_env SPEC — "MIN MAX STEP COUNT" of an array spec A-B[:S]
array_env() {
	_r=${1%%:*} _s=1
	case $1 in *:*) _s=${1#*:} ;; esac
	_a=${_r%-*} _b=${_r#*-}
	_b=$((_b - (_b - _a) % _s))
	echo "$_a $_b $_s $(((_b - _a) / _s + 1))"
}

# check_array LABEL SPEC DIR — the outputs in DIR partition the inputs, task t
# holding the positions p mod COUNT = (t - MIN) / STEP, every record ok, every
# task exited 0
check_array() {
	set -- "$1" "$2" "$3" $(array_env "$2")
	"$PY" - "$@" "$TMP/all.jsonl" <<'PYEOF'
import json, os, sys
label, spec, d, lo, hi, step, count, full = sys.argv[1:]
lo, hi, step, count = int(lo), int(hi), int(step), int(count)
tasks = list(range(lo, hi + 1, step))
def load(p):
    return [json.loads(l) for l in open(p) if l.strip()]
said = set()
def say(name, ok, why):
    said.add(name)
    print(f"PASS {label}/{name}" if ok else f"FAIL {label}/{name}: {why}")
names = ["tasks-exit-0", "partition", "shard-of-each-task"]
try:
    st = {}
    for t in tasks:
        p = os.path.join(d, f"exit.{t}")
        st[t] = open(p).read().strip() if os.path.exists(p) else "no exit file"
    say("tasks-exit-0", all(v == "0" for v in st.values()) and len(tasks) == count, f"exit statuses {st}")
    allin = [r["input"] for r in load(full)]
    outs = {t: (load(os.path.join(d, f"out.{t}.jsonl")) if os.path.exists(os.path.join(d, f"out.{t}.jsonl")) else None)
            for t in tasks}
    stray = sorted(f for f in os.listdir(d) if f.startswith("out.") and int(f.split(".")[1]) not in tasks)
    if any(o is None for o in outs.values()) or stray:
        say("partition", False, f"missing outputs {[t for t, o in outs.items() if o is None]}, stray {stray}")
        say("shard-of-each-task", False, "see partition")
    else:
        got = [r["input"] for o in outs.values() for r in o]
        bad = [r["input"] for o in outs.values() for r in o if not r.get("ok")]
        dups = sorted({x for x in got if got.count(x) > 1})
        say("partition", sorted(got) == sorted(allin) and not dups and not bad and len(allin) > count,
            f"{len(got)} records for {len(allin)} inputs; duplicates {dups}; not ok {bad}; "
            f"missing {sorted(set(allin) - set(got))}")
        want = {t: [x for p, x in enumerate(allin) if p % count == (t - lo) // step] for t in tasks}
        have = {t: [r["input"] for r in o] for t, o in outs.items()}
        wrong = {t: (have[t], want[t]) for t in tasks if have[t] != want[t]}
        say("shard-of-each-task", not wrong, f"task: (records, expected) {wrong}")
except Exception as e:  # a missing or torn file: every check not yet said fails
    for n in names:
        if n not in said:
            say(n, False, f"{type(e).__name__}: {e}")
PYEOF
}

# run_local LABEL SPEC — the job script run directly for each task of SPEC,
# with the variables SLURM sets (what the cluster does, minus the scheduler)
run_local() {
	set -- "$1" "$2" $(array_env "$2")
	mkdir -p "$TMP/$1"
	_t=$3
	while [ "$_t" -le "$4" ]; do
		(cd "$TMP/$1" && SLURM_ARRAY_JOB_ID=1 SLURM_ARRAY_TASK_ID=$_t SLURM_ARRAY_TASK_MIN=$3 \
			SLURM_ARRAY_TASK_MAX=$4 SLURM_ARRAY_TASK_STEP=$5 SLURM_ARRAY_TASK_COUNT=$6 \
			sh "$TMP/job.sh" >"$TMP/$1/task.$_t.log" 2>&1)
		_t=$((_t + $5))
	done
	check_array "$1" "$2" "$TMP/$1"
}

# ---- processes: every one started here is stopped by its pid ----

alive() { # PID — exists and is not a zombie
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	case $(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) in Z | X | '') return 1 ;; esac
}
stop_pid() { # PID — TERM, then KILL after 5 s; reaped (all are children of this shell)
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	_i=0
	while alive "$1" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
strays() { # pids of processes working inside $C: job steps, slurmstepd
	find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$C" -o -lname "$C/*" \) 2>/dev/null | cut -d/ -f3
}
stop_cluster() {
	for _p in $WAIT_PIDS; do stop_pid "$_p"; done
	WAIT_PIDS=
	if alive "$CTLD_PID"; then # cancel what is still queued or running, so steps end
		_jobs=$(squeue -h -o %A 2>/dev/null)
		if [ -n "$_jobs" ]; then
			scancel $_jobs 2>/dev/null
			_i=0
			while [ -n "$(squeue -h -o %A 2>/dev/null)" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
		fi
	fi
	stop_pid "$SLURMD_PID"
	stop_pid "$CTLD_PID"
	stop_pid "$MUNGED_PID"
	SLURMD_PID= CTLD_PID= MUNGED_PID=
	_s=$(strays)
	if [ -n "$_s" ]; then
		kill -TERM $_s 2>/dev/null
		sleep 0.5
		_s=$(strays)
		[ -n "$_s" ] && kill -KILL $_s 2>/dev/null
	fi
	return 0
}
cleanup() {
	trap '' HUP INT TERM
	stop_pid "$ALL_PID"
	stop_cluster
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# the whole list, in tinfer's order, from one unsharded run (in the
# background while the cluster starts)
t0=$(now_ms)
"$T" run -m digits -j 1 -q -o "$TMP/all.jsonl" "$DIGITS" 2>"$TMP/all.err" &
ALL_PID=$!
reference() { # wait for the unsharded run; it must have succeeded
	wait $ALL_PID
	_st=$?
	ALL_PID=
	if [ $_st -eq 0 ] && [ -s "$TMP/all.jsonl" ]; then pass reference/unsharded-run; else
		fail reference/unsharded-run "exit $_st: $(head -c 300 "$TMP/all.err")"
	fi
}

why=
if [ "${TINFER_TEST_SLURM:-1}" = 0 ]; then
	why="TINFER_TEST_SLURM=0"
elif [ "$(id -u)" -ne 0 ]; then
	why="not root (slurmd and munged run as root here)"
else
	for b in munged slurmctld slurmd sbatch scontrol sinfo squeue scancel timeout; do
		command -v $b >/dev/null 2>&1 || why="${why:+$why, }no $b"
	done
	[ -n "$why" ] && why="$why (apt-get install slurmctld slurmd slurm-client munge)"
fi
if [ -n "$why" ]; then
	reference
	printf 'SKIP slurm/cluster: %s; the job script runs without a scheduler instead\n' "$why"
	run_local local/array-1-3 1-3
	run_local local/array-0-4-step-2 0-4:2
	exit 0
fi

# ---- the private cluster ----

logs() { # the last lines of every log, on one line (tests/run.sh shows FAIL lines only)
	for _f in "$C"/*.log "$C"/*.out; do
		[ -f "$_f" ] && printf ' [%s] %s' "${_f##*/}" "$(tail -n 4 "$_f" | tr '\n' '|')"
	done
}

# free_ports — two TCP ports free now, below the ephemeral range (so no
# client connection is handed one of them meanwhile)
free_ports() {
	"$PY" -c '
import random, socket
got = []
while len(got) < 2:
    p = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("", p)); got.append(p)
    except OSError:
        pass
    s.close()
print(*got)'
}

# start_cluster — munged, slurmctld and slurmd up and the node idle, or 1
start_cluster() {
	rm -rf "$C"
	mkdir -p "$C/state" "$C/spool"
	# munged refuses a socket whose folders are not searchable by all
	chmod 711 "$TMP" "$C"
	head -c 1024 /dev/urandom >"$C/munge.key"
	chmod 600 "$C/munge.key"
	(cd "$C" && exec munged -F --socket="$C/munge.sock" --key-file="$C/munge.key" \
		--pid-file="$C/munged.pid" --log-file="$C/munged.log" --seed-file="$C/munged.seed" \
		>"$C/munged.out" 2>&1) &
	MUNGED_PID=$!
	_i=0
	while [ ! -S "$C/munge.sock" ] && alive "$MUNGED_PID" && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	[ -S "$C/munge.sock" ] || return 1

	set -- $(free_ports)
	_node=$(env -u SLURM_CONF slurmd -C | sed -n 's/^\(NodeName=.*\)/\1/p' | head -n 1)
	[ -n "$_node" ] || return 1
	_host=${_node#NodeName=}
	_host=${_host%% *}
	: >"$C/plugstack.conf"
	cat >"$C/slurm.conf" <<EOF
# A private one-node cluster for tests/cli/test_slurm.sh.  The controller
# must be this host by its short name (slurmctld checks; slurmd -C says it);
# the address is given so that DNS does not matter.
ClusterName=tinfertest
SlurmctldHost=$_host(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
SlurmdUser=root
# the private munged, not the system's /run/munge socket
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$C/munge.sock
# no cgroups: plain process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# CPUs only: with memory as a resource too, each task would take the node's
# whole memory and the tasks would run one at a time
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
# not /etc/slurm/plugstack.conf (SPANK plugins of the host)
PlugStackConfig=$C/plugstack.conf
ReturnToService=2
# sbatch --wait polls after 2 s, then multiplies its sleep by 4 while it is
# under MinJobAge/2: 4 keeps it at 2 s.  (0 is read as 2, "MinJobAge must be
# at least 2", and a finished task's record then goes within seconds: the
# checks read exit statuses from the controller's log instead.)
MinJobAge=4
# schedule a batch job when it is submitted, not up to 3 s later
SchedulerParameters=batch_sched_delay=0
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/slurmctld.log
SlurmdLogFile=$C/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
$_node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=tinfer Nodes=ALL Default=YES MaxTime=10 State=UP
EOF
	export SLURM_CONF="$C/slurm.conf"
	(cd "$C" && exec slurmctld -D -f "$C/slurm.conf" >"$C/slurmctld.out" 2>&1) &
	CTLD_PID=$!
	(cd "$C" && exec slurmd -D -f "$C/slurm.conf" >"$C/slurmd.out" 2>&1) &
	SLURMD_PID=$!
	_i=0
	while [ $_i -lt 100 ]; do # 20 s
		alive "$CTLD_PID" && alive "$SLURMD_PID" || return 1
		# bounded: a port answered by someone else's server would hold
		# sinfo for MessageTimeout (10 s)
		[ "$(timeout 3 sinfo -h -N -o %t 2>/dev/null)" = idle ] && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}

up=
for attempt in 1 2 3; do # a port taken between the choice and the bind: again
	if start_cluster; then up=1; break; fi
	info "cluster attempt $attempt failed:$(logs)"
	stop_cluster
done
t1=$(now_ms)
if [ -z "$up" ]; then
	fail slurm/cluster-up "no idle node within 20 s, 3 attempts:$(logs)"
	exit 1
fi
pass slurm/cluster-up
info "cluster up in $(secs "$t0" "$t1") s ($(sinfo -h -N -o '%N %c CPUs %t'))"
reference

# submit LABEL SPEC — sbatch --wait the job array, in the background: both
# arrays at once (6 tasks for 2 CPUs: they queue), and a signal to this shell
# handled at once, not when sbatch returns
submit() {
	mkdir -p "$C/$1"
	timeout 90 sbatch --wait --parsable --array="$2" --chdir="$C/$1" -J "tinfer-$2" -n 1 -c 1 \
		--time=5 -o "$C/$1/slurm-%a.out" "$TMP/job.sh" >"$C/$1/sbatch.out" 2>"$C/$1/sbatch.err" &
	WAIT_PIDS="$WAIT_PIDS $!"
}
# finished LABEL SPEC STATUS — sbatch's status, what the controller logged for
# each task, and the outputs
finished() {
	if [ "$3" -eq 0 ]; then pass "slurm/$1/sbatch-wait-exit-0"; else
		fail "slurm/$1/sbatch-wait-exit-0" "exit $3: $(cat "$C/$1/sbatch.err" "$C/$1"/slurm-*.out 2>/dev/null | tail -n 6 | tr '\n' '|')"
	fi
	# the controller's own word on each task's exit status: its log, since
	# job records are purged MinJobAge (at least 2 s) after the end, and
	# sacct needs slurmdbd
	_job=$(cut -d';' -f1 "$C/$1/sbatch.out" | head -n 1)
	set -- "$1" "$2" "$3" $(array_env "$2")
	_t=$4 _bad=
	while [ "$_t" -le "$5" ]; do
		grep -q "_job_complete: JobId=${_job}_$_t([0-9]*) WEXITSTATUS 0\$" "$C/slurmctld.log" || _bad="$_bad $_t"
		_t=$((_t + $6))
	done
	if [ -n "$_job" ] && [ -z "$_bad" ]; then pass "slurm/$1/controller-exit-0"; else
		fail "slurm/$1/controller-exit-0" "job '$_job', no 'WEXITSTATUS 0' for tasks$_bad: $(grep WEXITSTATUS "$C/slurmctld.log" | cut -d' ' -f3- | tr '\n' '|')"
	fi
	check_array "slurm/$1" "$2" "$C/$1"
}
submit array-1-3 1-3
submit array-0-4-step-2 0-4:2
set -- $WAIT_PIDS
wait $1
rc1=$?
ta=$(now_ms)
wait $2
rc2=$?
WAIT_PIDS=
t2=$(now_ms)
finished array-1-3 1-3 $rc1
finished array-0-4-step-2 0-4:2 $rc2

# everything this test started is gone
pids="$MUNGED_PID $CTLD_PID $SLURMD_PID"
stop_cluster
t3=$(now_ms)
left=
for p in $pids; do # reaped: unless the pid went to someone else meanwhile
	alive "$p" && case $(cat "/proc/$p/comm" 2>/dev/null) in munged | slurmctld | slurmd) left="$left $p" ;; esac
done
for p in $(strays); do alive "$p" && left="$left $p"; done
if [ -z "$left" ]; then pass slurm/stopped; else
	fail slurm/stopped "still running:$(for p in $left; do printf ' %s(%s)' "$p" "$(cat /proc/$p/comm)"; done)"
fi
info "arrays: 1-3 done in $(secs "$t1" "$ta") s, 0-4:2 in $(secs "$t1" "$t2") s (at once); stop $(secs "$t2" "$t3") s, whole test $(secs "$t0" "$t3") s"
