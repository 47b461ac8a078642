/*
 * Unit tests for tasks/task.c and the table: every row is complete and
 * consistent with the option table; a manifest entry is checked against
 * its task's keys; each task reads its own keys and knobs (command line,
 * else the entry's defaults, else its own default).  Nothing here loads
 * libtorch.
 */
#include "check.h"
#include "cli/opts.h"
#include "formats/manifest.h"
#include "sys/msg.h"
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/tinfer-task-XXXXXX";

/* Writes the manifest {"models": {"x": ENTRY}} and resolves x. */
static int entry(const char *json, struct model_spec *s, char *err)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof path, "%s/m.json", dir);
	f = fopen(path, "w");
	fprintf(f, "{\"models\": {\"x\": %s}}", json);
	fclose(f);
	return manifest_resolve("x", path, s, err, ERRLEN);
}

/* Parses a command line (after "tinfer run -m x") into o. */
static int parse(struct opts *o, const char *a1, const char *a2)
{
	char *argv[8] = {"tinfer", "run", "-m", "x"};
	int argc = 4;
	if (a1)
		argv[argc++] = (char *)a1;
	if (a2)
		argv[argc++] = (char *)a2;
	return opts_parse(argc, argv, o);
}

/* Opens the task of ENTRY with options a1 a2; the exit status, err set. */
static int open_with(const char *json, const char *a1, const char *a2, struct task *t, struct model_spec *s,
                     struct opts *o, char *err)
{
	int rc;
	err[0] = '\0';
	if (entry(json, s, err) < 0)
		return -1;
	if (parse(o, a1, a2) < 0)
		return -2;
	rc = task_open(t, s, o, err, ERRLEN);
	return rc;
}

static void done_with(struct task *t, struct model_spec *s, struct opts *o)
{
	task_close(t);
	model_spec_free(s);
	free(o->inputs);
}

int main(void)
{
	static const char *const names[] = {"classify", "detect", "segment", "embed", "raw"};
	struct model_spec s;
	struct task t;
	struct opts o;
	char err[ERRLEN], path[256];
	int nopt;
	const struct option_def *tab = opts_table(&nopt);

	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof path, "%s/m.pt", dir);
	fclose(fopen(path, "w"));

	/* the table */
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct task_def *d = task_find(names[i]);
		char name[96];
		int ok = 1;
		snprintf(name, sizeof name, "task %s: in the table, one way to run, its options in the option table",
		         names[i]);
		ok = d && !strcmp(d->name, names[i]) && !d->post != !d->run_one && d->inputs && d->open && d->close;
		for (const char *const *op = d ? d->options : NULL; ok && op && *op; op++) {
			int found = 0;
			for (int k = 0; k < nopt; k++)
				found |= !strcmp(tab[k].longname, *op) && tab[k].scope == SCOPE_TASK;
			ok = found;
		}
		for (const char *const *kn = d ? d->knobs : NULL; ok && kn && *kn; kn++)
			ok = d->set_knob && d->settings;
		CHECK(ok, name, "incomplete row");
	}
	/* every task option belongs to some task */
	for (int k = 0; k < nopt; k++) {
		int owned = tab[k].scope != SCOPE_TASK;
		char name[96];
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			for (const char *const *op = task_find(names[i])->options; op && *op; op++)
				owned |= !strcmp(*op, tab[k].longname);
		snprintf(name, sizeof name, "option --%s: a task takes it", tab[k].longname);
		CHECK(owned, name, "SCOPE_TASK but no task lists it");
	}
	CHECK(task_find("dance") == NULL && strstr(task_names(), "classify, detect, segment, embed, raw"),
	      "task names", "%s", task_names());

	/* entries checked against their task */
	CHECK(entry("{\"file\": \"m.pt\", \"task\": \"dance\"}", &s, err) == 0 && !task_resolve(&s, NULL, err, ERRLEN) &&
	          strstr(err, "unknown task 'dance'") && strstr(err, "classify, detect"),
	      "unknown task names the valid ones", "%s", err);
	model_spec_free(&s);
	CHECK(entry("{\"file\": \"m.pt\", \"task\": \"classify\", \"lables\": []}", &s, err) == 0 &&
	          !task_resolve(&s, NULL, err, ERRLEN) && strstr(err, "unknown manifest key 'lables'") &&
	          strstr(err, "labels") && strstr(err, "output"),
	      "unknown key names the valid keys", "%s", err);
	model_spec_free(&s);
	CHECK(entry("{\"file\": \"m.pt\", \"task\": \"classify\", \"decoder\": {\"type\": \"yolov8\"}}", &s, err) == 0 &&
	          !task_resolve(&s, NULL, err, ERRLEN) && strstr(err, "'decoder' is for task detect"),
	      "another task's key names that task", "%s", err);
	model_spec_free(&s);
	CHECK(entry("{\"file\": \"m.pt\", \"task\": \"embed\", \"defaults\": {\"conf\": 0.3}}", &s, err) == 0 &&
	          !task_resolve(&s, NULL, err, ERRLEN) && strstr(err, "'defaults.conf' is for task detect"),
	      "defaults keys too", "%s", err);
	model_spec_free(&s);
	CHECK(entry("{\"file\": \"m.pt\", \"task\": \"detect\", \"decoder\": {\"type\": \"yolov8\"}}", &s, err) == 0 &&
	          task_resolve(&s, "raw", err, ERRLEN) == task_find("raw"),
	      "--task raw on a detector's entry", "%s", err);
	model_spec_free(&s);

	/* each task reads its own keys */
	CHECK(open_with("{\"file\": \"m.pt\", \"task\": \"classify\", \"output\": \"scores\"}", NULL, NULL, &t, &s, &o,
	                err) == EXIT_MODEL && strstr(err, "\"logits\" or \"probs\""),
	      "classify: output", "%s", err);
	done_with(&t, &s, &o);
	CHECK(open_with("{\"file\": \"m.pt\", \"task\": \"embed\", \"normalize\": 1}", NULL, NULL, &t, &s, &o, err) ==
	              EXIT_MODEL && strstr(err, "normalize"),
	      "embed: normalize is a boolean", "%s", err);
	done_with(&t, &s, &o);
	static const struct {
		const char *decoder, *want;
	} bad[] = {
		{NULL, "needs a decoder"},
		{"{\"type\": \"yolo9000\"}", "yolov8, yolov2 or boxes"},
		{"{\"type\": \"yolov2\"}", "anchors"},
		{"{\"type\": \"yolov2\", \"anchors\": [[1, 0]]}", "anchors[0]"},
		{"{\"type\": \"yolov8\", \"classes\": 0}", "classes"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char json[256], name[96];
		snprintf(json, sizeof json, "{\"file\": \"m.pt\", \"task\": \"detect\"%s%s}", bad[i].decoder ? ", \"decoder\": " : "",
		         bad[i].decoder ? bad[i].decoder : "");
		snprintf(name, sizeof name, "detect decoder %zu: %s", i, bad[i].want);
		CHECK(open_with(json, NULL, NULL, &t, &s, &o, err) == EXIT_MODEL && strstr(err, bad[i].want) &&
		          !strchr(err, '\n'),
		      name, "%s", err);
		done_with(&t, &s, &o);
	}
	CHECK(open_with("{\"file\": \"m.pt\", \"task\": \"detect\", \"decoder\": {\"type\": \"boxes\"}, \"defaults\": "
	                "{\"conf\": 1.5}}",
	                "--conf", "0.3", &t, &s, &o, err) == EXIT_MODEL &&
	          strstr(err, "defaults.conf must be a number from 0 to 1"),
	      "detect: a broken default is reported even when overridden", "%s", err);
	done_with(&t, &s, &o);

	/* knobs: the command line, else the entry's defaults, else the task's */
	{
		static const struct {
			const char *defaults, *a1, *a2;
			long points, prompt_batch;
		} k[] = {
			{"", NULL, NULL, 15000, 4},
			{", \"defaults\": {\"points\": 900, \"prompt_batch\": 2}", NULL, NULL, 900, 2},
			{", \"defaults\": {\"points\": 900}", "--points", "123", 123, 4},
		};
		for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
			char json[256], name[64];
			json_t *set = NULL;
			snprintf(json, sizeof json, "{\"file\": \"m.pt\", \"task\": \"segment\"%s}", k[i].defaults);
			snprintf(name, sizeof name, "segment knobs, case %zu", i);
			if (open_with(json, k[i].a1, k[i].a2, &t, &s, &o, err) == 0)
				set = t.def->settings(&t);
			CHECK(set && json_integer_value(json_object_get(set, "points")) == k[i].points &&
			          json_integer_value(json_object_get(set, "prompt_batch")) == k[i].prompt_batch,
			      name, "%s", err[0] ? err : "wrong values");
			json_decref(set);
			done_with(&t, &s, &o);
		}
	}

	/* options that do not apply to the task */
	CHECK(parse(&o, "--conf", "0.3") == 0 &&
	          opts_check_task(&o, "classify", task_find("classify")->options, 1, "digits", err, ERRLEN) < 0 &&
	          strstr(err, "--conf does not apply to model 'digits'") && strstr(err, "classify"),
	      "--conf on a classifier", "%s", err);
	free(o.inputs);
	CHECK(parse(&o, "--conf", "0.3") == 0 &&
	          opts_check_task(&o, "detect", task_find("detect")->options, 1, "faces", err, ERRLEN) == 0,
	      "--conf on a detector", "%s", err);
	free(o.inputs);
	CHECK(parse(&o, "--fast-decode", NULL) == 0 &&
	          opts_check_task(&o, "segment", task_find("segment")->options, 0, "parts", err, ERRLEN) < 0 &&
	          strstr(err, "takes no images"),
	      "--fast-decode on a model without images", "%s", err);
	free(o.inputs);

	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 2;
	}
	return check_done();
}
