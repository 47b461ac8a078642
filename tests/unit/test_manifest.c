/* Unit tests for formats/manifest.c: entries, defaults, labels, errors, lookup order. */
#include "check.h"
#include "formats/manifest.h"
#include "sys/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/tinfer-manifest-XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static int resolve(const char *model, const char *manifest, struct model_spec *s, char *err)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, manifest);
	return manifest_resolve(model, path, s, err, ERRLEN);
}

int main(void)
{
	struct model_spec s;
	char err[ERRLEN], path[256];

	if (!mkdtemp(dir))
		return 2;
	write_file("m.pt", "x");
	write_file("labels.txt", "cat\ndog\r\n\n");
	write_file("ok.json",
	           "{\"models\": {"
	           " \"full\": {\"file\": \"m.pt\", \"task\": \"classify\", \"labels\": \"labels.txt\","
	           "  \"output\": \"probs\", \"defaults\": {\"batch_size\": 8},"
	           "  \"input\": {\"size\": [48, 64], \"channels\": 1, \"color\": \"bgr\", \"resize\": \"crop\","
	           "   \"resize_to\": 70, \"align\": \"topleft\", \"interp\": \"antialias\", \"pad_value\": 114,"
	           "   \"scale\": 0.5, \"mean\": [1, 2, 3], \"std\": [0.5]}},"
	           " \"bare\": {\"file\": \"m.pt\", \"input\": {\"size\": 32}},"
	           " \"names\": {\"file\": \"m.pt\", \"task\": \"embed\", \"normalize\": true,"
	           "  \"labels\": {\"0\": \"a\", \"2\": \"c\"}}"
	           "}}");

	CHECK(resolve("full", "ok.json", &s, err) == 0, "full entry resolves", "%s", err);
	snprintf(path, sizeof path, "%s/m.pt", dir);
	CHECK(!strcmp(s.file, path), "file relative to the manifest", "%s", s.file);
	CHECK(!strcmp(s.task, "classify") && s.batch_size == 8, "task, defaults", "%s %ld", s.task, s.batch_size);
	CHECK(s.has_input && s.pre.height == 48 && s.pre.width == 64, "size is [height, width]", "%dx%d",
	      s.pre.width, s.pre.height);
	CHECK(s.pre.channels == 1 && s.pre.bgr && s.pre.resize == RESIZE_CROP && s.pre.resize_to == 70 &&
	          !s.pre.align_center && s.pre.interp == INTERP_ANTIALIAS && s.pre.pad_value == 114.0f,
	      "input fields", "parsed wrong");
	CHECK(s.pre.scale == 0.5f && s.pre.mean[2] == 3.0f && s.pre.std[0] == 0.5f && s.pre.std[2] == 0.5f,
	      "scale, mean, one std broadcast", "%g %g %g", s.pre.scale, s.pre.mean[2], s.pre.std[2]);
	CHECK(s.n_labels == 2 && !strcmp(s.labels[0], "cat") && !strcmp(s.labels[1], "dog"),
	      "label file: CRLF and blank tail stripped", "%d labels", s.n_labels);
	model_spec_free(&s);

	CHECK(resolve("bare", "ok.json", &s, err) == 0, "bare entry resolves", "%s", err);
	CHECK(!strcmp(s.task, "raw") && s.pre.width == 32 && s.pre.height == 32 && s.pre.channels == 3 &&
	          s.pre.resize == RESIZE_LETTERBOX && s.pre.align_center && s.pre.scale == 1.0f &&
	          s.pre.std[1] == 1.0f && s.pre.pad_value == 0.0f && !s.pre.bgr,
	      "defaults: raw, letterbox centre, scale 1, mean 0, std 1, pad 0, rgb", "wrong defaults");
	model_spec_free(&s);

	CHECK(resolve("names", "ok.json", &s, err) == 0, "names entry resolves", "%s", err);
	CHECK(!strcmp(s.task, "embed") && s.n_labels == 3 && !strcmp(s.labels[1], "1") &&
	          !strcmp(s.labels[2], "c"),
	      "labels object fills gaps with numbers", "%d", s.n_labels);
	model_spec_free(&s);

	CHECK(resolve("absent", "ok.json", &s, err) == -1 && strstr(err, "no model 'absent'"),
	      "unknown name", "%s", err);
	model_spec_free(&s);

	/* a path that a manifest entry names uses that entry */
	CHECK(manifest_resolve(path, NULL, &s, err, ERRLEN) == 0 && !strcmp(s.task, "raw"), "path without manifest",
	      "%s", err);
	model_spec_free(&s);
	{
		char mpath[256];
		snprintf(mpath, sizeof mpath, "%s/ok.json", dir);
		CHECK(manifest_resolve(path, mpath, &s, err, ERRLEN) == 0 && !strcmp(s.name, "full"),
		      "path finds its manifest entry", "%s %s", err, s.name ? s.name : "-");
		model_spec_free(&s);
	}

	/* malformed entries: one clear line each */
	static const struct {
		const char *json, *want;
	} bad[] = {
		{"{\"models\": {\"x\": {\"task\": \"classify\"}}}", "no \"file\""},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"task\": 7}}}", "\"task\" must be a task name"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"description\": [1]}}}", "\"description\" must be a string"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"defaults\": 8}}}", "\"defaults\" must be an object"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"input\": {\"size\": [1, 2, 3]}}}}", "[height, width]"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"input\": {\"size\": [0, 2]}}}}", "between 1 and"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"input\": {\"size\": 8, \"channels\": 2}}}}", "channels"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"input\": {\"size\": 8, \"resize\": \"zoom\"}}}}", "letterbox"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"input\": {\"size\": 8, \"mean\": [1, 2]}}}}", "mean"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"input\": {\"size\": 8, \"std\": [0]}}}}", "std must not be 0"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"labels\": \"nolabels.txt\"}}}", "labels"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\", \"defaults\": {\"batch_size\": 0}}}}", "batch_size"},
		{"{\"models\": {\"x\": {\"file\": \"m.pt\"}, \"x\": {\"file\": \"m.pt\"}}}", "duplicate"},
		{"{\"models\": 3}", "no \"models\" object"},
		{"not json", "line 1"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[64];
		write_file("bad.json", bad[i].json);
		snprintf(name, sizeof name, "malformed %zu: %s", i, bad[i].want);
		CHECK(resolve("x", "bad.json", &s, err) == -1 && strstr(err, bad[i].want) && !strchr(err, '\n'),
		      name, "got '%s'", err);
		model_spec_free(&s);
	}

	/* lookup order: an explicit file that is missing is an error, not a fallback */
	CHECK(manifest_find("/nonexistent/models.json", err, ERRLEN) == NULL && err[0], "missing --models",
	      "%s", err);
	setenv("TINFER_MODELS", path, 1); /* m.pt: exists, so it is returned as the manifest */
	{
		char *p = manifest_find(NULL, err, ERRLEN);
		CHECK(p && !strcmp(p, path), "$TINFER_MODELS first", "%s", p ? p : err);
		free(p);
	}
	unsetenv("TINFER_MODELS");
	if (chdir(dir) == 0) {
		char *p;
		write_file("models.json", "{\"models\": {}}");
		p = manifest_find(NULL, err, ERRLEN);
		CHECK(p && !strcmp(p, "models.json"), "./models.json next", "%s", p ? p : err);
		free(p);
	}
	return check_done();
}
