/* manifest.c — see manifest.h. */
#include "formats/manifest.h"
#include "sys/msg.h"
#include "sys/paths.h"
#include "formats/ptar.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const manifest_keys[] = {"file", "task", "description", "input", "labels", "defaults", NULL};
const char *const manifest_default_keys[] = {"batch_size", NULL};

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *manifest_find(const char *models_file, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	const char *env;

	err[0] = '\0';
	if (models_file) {
		if (!is_file(models_file)) {
			msg_fmt(err, errlen, "manifest '%s': %s", models_file,
			        access(models_file, F_OK) ? strerror(errno) : "not a regular file");
			return NULL;
		}
		return strdup(models_file);
	}
	env = getenv("TINFER_MODELS");
	if (env && *env) {
		if (!is_file(env)) {
			msg_fmt(err, errlen, "manifest '%s' (from $TINFER_MODELS): %s", env, strerror(ENOENT));
			return NULL;
		}
		return strdup(env);
	}
	if (is_file("models.json"))
		return strdup("models.json");
	env = getenv("XDG_CONFIG_HOME");
	if (env && *env)
		snprintf(buf, sizeof buf, "%s/tinfer/models.json", env);
	else if ((env = getenv("HOME")) && *env)
		snprintf(buf, sizeof buf, "%s/.config/tinfer/models.json", env);
	else
		buf[0] = '\0';
	if (buf[0] && is_file(buf))
		return strdup(buf);
	if (path_find(PATH_SAMPLES, buf, sizeof buf) == 0)
		return strdup(buf);
	return NULL;
}

json_t *manifest_load(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		msg_fmt(err, errlen, "manifest '%s': line %d: %s", path, je.line, je.text);
		return NULL;
	}
	if (!json_is_object(json_object_get(root, "models"))) {
		msg_fmt(err, errlen, "manifest '%s': no \"models\" object", path);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* base_dir/rel unless rel is absolute; malloc'd. */
static char *join(const char *base_dir, const char *rel)
{
	char *out;
	if (rel[0] == '/' || !base_dir || !*base_dir)
		return strdup(rel);
	if (asprintf(&out, "%s/%s", base_dir, rel) < 0)
		return NULL;
	return out;
}

static char *dir_of(const char *path)
{
	char *tmp = strdup(path), *d;
	if (!tmp)
		return NULL;
	d = strdup(dirname(tmp));
	free(tmp);
	return d;
}

/* Reads a label file, one label per line.  -1 with err on failure. */
static int read_label_file(const char *path, struct model_spec *s, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	if (!f) {
		msg_fmt(err, errlen, "labels '%s': %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char **grown;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		grown = realloc(s->labels, (size_t)(s->n_labels + 1) * sizeof *grown);
		if (!grown || !(grown[s->n_labels] = strdup(line))) {
			if (grown)
				s->labels = grown;
			msg_fmt(err, errlen, "out of memory reading labels");
			rc = -1;
			break;
		}
		s->labels = grown;
		s->n_labels++;
	}
	/* A trailing blank line is not a label. */
	while (rc == 0 && s->n_labels > 0 && !s->labels[s->n_labels - 1][0])
		free(s->labels[--s->n_labels]);
	free(line);
	fclose(f);
	return rc;
}

/* Fills s->labels from a JSON list of strings, a {"0": "name"} object, or a file name. */
static int read_labels(json_t *v, const char *base_dir, struct model_spec *s, char *err, size_t errlen)
{
	size_t i;
	json_t *item;
	const char *key;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		char *p = join(base_dir, json_string_value(v));
		int rc = p ? read_label_file(p, s, err, errlen) : -1;
		free(p);
		return rc;
	}
	if (json_is_array(v)) {
		s->labels = calloc(json_array_size(v) + 1, sizeof *s->labels);
		if (!s->labels)
			return -1;
		json_array_foreach(v, i, item) {
			if (!json_is_string(item)) {
				msg_fmt(err, errlen, "labels must be strings");
				return -1;
			}
			s->labels[s->n_labels++] = strdup(json_string_value(item));
		}
		return 0;
	}
	if (json_is_object(v)) { /* ultralytics names: {"0": "person", ...} */
		long max = -1;
		json_object_foreach(v, key, item) {
			char *end;
			long k = strtol(key, &end, 10);
			if (*end || k < 0 || k > 100000 || !json_is_string(item)) {
				msg_fmt(err, errlen, "labels object must map class numbers to names");
				return -1;
			}
			if (k > max)
				max = k;
		}
		s->labels = calloc((size_t)max + 2, sizeof *s->labels);
		if (!s->labels)
			return -1;
		s->n_labels = (int)max + 1;
		json_object_foreach(v, key, item)
			s->labels[strtol(key, NULL, 10)] = strdup(json_string_value(item));
		for (int k = 0; k < s->n_labels; k++)
			if (!s->labels[k] && asprintf(&s->labels[k], "%d", k) < 0)
				return -1;
		return 0;
	}
	msg_fmt(err, errlen, "labels must be a list, an object or a file name");
	return -1;
}

/* Reads a list of 1 or 3 numbers into out[3] (one value is repeated). */
static int read_triple(json_t *v, const char *what, float *out, char *err, size_t errlen)
{
	size_t n;
	if (!v)
		return 0;
	if (json_is_number(v)) {
		out[0] = out[1] = out[2] = (float)json_number_value(v);
		return 0;
	}
	n = json_is_array(v) ? json_array_size(v) : 0;
	if (n != 1 && n != 3) {
		msg_fmt(err, errlen, "input.%s must be a number or a list of 1 or 3 numbers", what);
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		json_t *x = json_array_get(v, n == 1 ? 0 : i);
		if (!json_is_number(x)) {
			msg_fmt(err, errlen, "input.%s must hold numbers", what);
			return -1;
		}
		out[i] = (float)json_number_value(x);
	}
	return 0;
}

/* Reads an optional string member, checking it is one of the choices; index or -1. */
static int read_choice(json_t *obj, const char *key, const char *const *choices, int n, int dflt,
                       char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return dflt;
	if (json_is_string(v))
		for (int i = 0; i < n; i++)
			if (!strcmp(json_string_value(v), choices[i]))
				return i;
	msg_fmt(err, errlen, "input.%s must be one of:", key);
	for (int i = 0; i < n; i++)
		snprintf(err + strlen(err), errlen - strlen(err), "%s %s", i ? "," : "", choices[i]);
	return -1;
}

/* Parses the "input" object of an entry into s->pre. */
static int parse_input(json_t *in, struct model_spec *s, char *err, size_t errlen)
{
	static const char *const resizes[] = {"letterbox", "stretch", "crop"};
	static const char *const aligns[] = {"topleft", "center"};
	static const char *const interps[] = {"bilinear", "antialias"};
	static const char *const colors[] = {"rgb", "bgr"};
	struct preprocess *p = &s->pre;
	json_t *size = json_object_get(in, "size"), *v;
	int r;

	if (!json_is_object(in)) {
		msg_fmt(err, errlen, "\"input\" must be an object");
		return -1;
	}
	if (json_is_integer(size)) {
		p->height = p->width = (int)json_integer_value(size);
	} else if (json_is_array(size) && json_array_size(size) == 2 &&
	           json_is_integer(json_array_get(size, 0)) && json_is_integer(json_array_get(size, 1))) {
		p->height = (int)json_integer_value(json_array_get(size, 0));
		p->width = (int)json_integer_value(json_array_get(size, 1));
	} else {
		msg_fmt(err, errlen, "input.size must be [height, width]");
		return -1;
	}
	if (p->height < 1 || p->width < 1 || p->height > 16384 || p->width > 16384) {
		msg_fmt(err, errlen, "input.size must be between 1 and 16384");
		return -1;
	}
	v = json_object_get(in, "channels");
	p->channels = v ? (int)json_integer_value(v) : 3;
	if (p->channels != 1 && p->channels != 3) {
		msg_fmt(err, errlen, "input.channels must be 1 or 3");
		return -1;
	}
	if ((r = read_choice(in, "color", colors, 2, 0, err, errlen)) < 0)
		return -1;
	p->bgr = r;
	if ((r = read_choice(in, "resize", resizes, 3, RESIZE_LETTERBOX, err, errlen)) < 0)
		return -1;
	p->resize = (enum resize_mode)r;
	if ((r = read_choice(in, "align", aligns, 2, 1, err, errlen)) < 0)
		return -1;
	p->align_center = r;
	if ((r = read_choice(in, "interp", interps, 2, INTERP_BILINEAR, err, errlen)) < 0)
		return -1;
	p->interp = (enum interp_mode)r;
	v = json_object_get(in, "resize_to");
	p->resize_to = v ? (int)json_integer_value(v) : (p->width < p->height ? p->width : p->height);
	if (p->resize == RESIZE_CROP && (p->resize_to < 1 || p->resize_to > 65536)) {
		msg_fmt(err, errlen, "input.resize_to must be between 1 and 65536");
		return -1;
	}
	v = json_object_get(in, "pad_value");
	p->pad_value = v ? (float)json_number_value(v) : 0.0f;
	v = json_object_get(in, "scale");
	p->scale = v ? (float)json_number_value(v) : 1.0f;
	p->mean[0] = p->mean[1] = p->mean[2] = 0.0f;
	p->std[0] = p->std[1] = p->std[2] = 1.0f;
	if (read_triple(json_object_get(in, "mean"), "mean", p->mean, err, errlen) < 0 ||
	    read_triple(json_object_get(in, "std"), "std", p->std, err, errlen) < 0)
		return -1;
	for (int c = 0; c < 3; c++)
		if (p->std[c] == 0.0f) {
			msg_fmt(err, errlen, "input.std must not be 0");
			return -1;
		}
	s->has_input = 1;
	return 0;
}

/*
 * Fills *s from one manifest entry; base_dir resolves relative paths.  The
 * entry's "file" is used unless file_override is given.
 */
static int parse_entry(json_t *e, const char *name, const char *base_dir, const char *file_override,
                       struct model_spec *s, char *err, size_t errlen)
{
	char sub[ERRLEN - 64];
	json_t *v;
	const char *file;

	sub[0] = '\0';
	if (!json_is_object(e)) {
		msg_fmt(err, errlen, "model '%s': entry must be an object", name);
		return -1;
	}
	s->name = strdup(name);
	s->entry = json_incref(e);
	file = json_string_value(json_object_get(e, "file"));
	if (file_override)
		s->file = strdup(file_override);
	else if (file)
		s->file = join(base_dir, file);
	else {
		msg_fmt(err, errlen, "model '%s': entry has no \"file\"", name);
		return -1;
	}
	v = json_object_get(e, "task");
	if (v && !json_is_string(v)) {
		snprintf(sub, sizeof sub, "\"task\" must be a task name");
		goto bad;
	}
	s->task = strdup(v ? json_string_value(v) : "raw");
	if ((v = json_object_get(e, "description")) && !json_is_string(v)) {
		snprintf(sub, sizeof sub, "\"description\" must be a string");
		goto bad;
	}
	if ((v = json_object_get(e, "input")) && parse_input(v, s, sub, sizeof sub) < 0)
		goto bad;
	if (read_labels(json_object_get(e, "labels"), base_dir, s, sub, sizeof sub) < 0)
		goto bad;
	if ((v = json_object_get(e, "defaults")) && !json_is_object(v)) {
		snprintf(sub, sizeof sub, "\"defaults\" must be an object");
		goto bad;
	}
	v = json_object_get(json_object_get(e, "defaults"), "batch_size");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
			snprintf(sub, sizeof sub, "defaults.batch_size must be a positive integer");
			goto bad;
		}
		s->batch_size = (long)json_integer_value(v);
	}
	return 0;
bad:
	msg_fmt(err, errlen, "model '%s': %s", name, sub[0] ? sub : "out of memory");
	return -1;
}

/*
 * Describes an ultralytics export from its config.txt (JSON metadata), as
 * the manifest entry it amounts to: ultralytics' own preprocessing
 * (centred letterbox on 114 for detection, shorter side and centre crop
 * for classification, 1/255), the yolov8 decoder, its class names.
 */
static int parse_ultralytics(const char *text, const char *path, const char *name, struct model_spec *s,
                             char *err, size_t errlen)
{
	json_error_t je;
	json_t *cfg = json_loads(text, 0, &je), *imgsz, *e;
	const char *task;
	int h = 640, w = 640, detect, classify, rc;

	if (!json_is_object(cfg)) {
		msg_fmt(err, errlen, "config.txt is not JSON metadata: %s", je.text);
		json_decref(cfg);
		return -1;
	}
	imgsz = json_object_get(cfg, "imgsz");
	if (json_is_array(imgsz) && json_array_size(imgsz) == 2) {
		h = (int)json_integer_value(json_array_get(imgsz, 0));
		w = (int)json_integer_value(json_array_get(imgsz, 1));
	} else if (json_is_integer(imgsz)) {
		h = w = (int)json_integer_value(imgsz);
	}
	if (h < 1 || w < 1 || h > 16384 || w > 16384) {
		msg_fmt(err, errlen, "config.txt: imgsz out of range");
		json_decref(cfg);
		return -1;
	}
	task = json_string_value(json_object_get(cfg, "task"));
	detect = task && !strcmp(task, "detect");
	classify = task && !strcmp(task, "classify");
	e = json_pack("{s:s, s:s, s:{s:[i,i], s:i, s:s, s:s, s:i, s:f, s:f}}", "task",
	              detect ? "detect" : classify ? "classify" : "raw", "description", "ultralytics export (config.txt)",
	              "input", "size", h, w, "channels", 3, "resize", classify ? "crop" : "letterbox", "align", "center",
	              "resize_to", w < h ? w : h, "pad_value", 114.0, "scale", 1.0 / 255.0);
	if (e && detect)
		json_object_set_new(e, "decoder", json_pack("{s:s}", "type", "yolov8"));
	if (e && classify)
		json_object_set_new(e, "output", json_string("probs"));
	if (e && json_object_get(cfg, "names"))
		json_object_set(e, "labels", json_object_get(cfg, "names"));
	json_decref(cfg);
	if (!e) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	rc = parse_entry(e, name, NULL, path, s, err, errlen);
	json_decref(e);
	return rc;
}

/* Describes a model given by path that has no manifest entry. */
static int resolve_path(const char *path, const char *name, struct model_spec *s, char *err,
                        size_t errlen)
{
	char sidecar[PATH_MAX];
	char *text, *base;
	size_t len;
	json_error_t je;

	snprintf(sidecar, sizeof sidecar, "%s.json", path);
	if (is_file(sidecar)) {
		json_t *e = json_load_file(sidecar, JSON_REJECT_DUPLICATES, &je);
		int rc;
		if (!e) {
			msg_fmt(err, errlen, "sidecar '%s': line %d: %s", sidecar, je.line, je.text);
			return -1;
		}
		base = dir_of(sidecar);
		rc = parse_entry(e, name, base, path, s, err, errlen);
		free(base);
		json_decref(e);
		s->source = strdup("sidecar");
		return rc;
	}
	err[0] = '\0';
	text = ptar_extra(path, "config.txt", &len, err, errlen);
	if (text) {
		int rc = parse_ultralytics(text, path, name, s, err, errlen);
		free(text);
		s->source = strdup("config.txt");
		return rc;
	}
	/* An unreadable archive is reported by whoever opens it next, with the
	 * file's name; here it simply has no config.txt. */
	err[0] = '\0';
	s->name = strdup(name);
	s->file = strdup(path);
	s->task = strdup("raw");
	s->source = strdup("none");
	return 0;
}

static int looks_like_path(const char *m)
{
	size_t n = strlen(m);
	return strchr(m, '/') || (n > 3 && !strcmp(m + n - 3, ".pt")) ||
	       (n > 12 && !strcmp(m + n - 12, ".torchscript")) || is_file(m);
}

int manifest_resolve(const char *model, const char *models_file, struct model_spec *s,
                     char *err, size_t errlen)
{
	json_t *root = NULL, *models, *e;
	char *mpath, *base = NULL;
	const char *key;
	int rc = -1;

	memset(s, 0, sizeof *s);
	err[0] = '\0';
	mpath = manifest_find(models_file, err, errlen);
	if (!mpath && err[0])
		return -1;
	s->manifest = mpath; /* owned by s from here */
	if (mpath && !(root = manifest_load(mpath, err, errlen)))
		goto out;
	base = mpath ? dir_of(mpath) : NULL;
	models = root ? json_object_get(root, "models") : NULL;

	if ((e = json_object_get(models, model)) && !strchr(model, '/')) {
		rc = parse_entry(e, model, base, NULL, s, err, errlen);
		s->source = strdup(mpath);
		goto out;
	}
	if (!looks_like_path(model)) {
		if (mpath)
			msg_fmt(err, errlen, "no model '%s' in %s (see 'tinfer models')", model, mpath);
		else
			msg_fmt(err, errlen, "no model '%s': no manifest found and no such file", model);
		goto out;
	}
	if (!is_file(model)) {
		msg_fmt(err, errlen, "model file '%s': %s", model,
		        access(model, F_OK) ? strerror(errno) : "not a regular file");
		goto out;
	}
	/* A path that a manifest entry names uses that entry. */
	if (models) {
		char want[PATH_MAX], have[PATH_MAX];
		if (realpath(model, want)) {
			json_object_foreach(models, key, e) {
				const char *f = json_string_value(json_object_get(e, "file"));
				char *p = f ? join(base, f) : NULL;
				int same = p && realpath(p, have) && !strcmp(want, have);
				free(p);
				if (same) {
					rc = parse_entry(e, key, base, model, s, err, errlen);
					s->source = strdup(mpath);
					goto out;
				}
			}
		}
	}
	rc = resolve_path(model, strrchr(model, '/') ? strrchr(model, '/') + 1 : model, s, err, errlen);
out:
	free(base);
	json_decref(root);
	return rc;
}

void model_spec_free(struct model_spec *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->file);
	free(s->source);
	free(s->manifest);
	free(s->task);
	for (int i = 0; i < s->n_labels; i++)
		free(s->labels[i]);
	free(s->labels);
	json_decref(s->entry);
	memset(s, 0, sizeof *s);
}
