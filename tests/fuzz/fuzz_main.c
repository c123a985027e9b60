/*
 * fuzz_main.c - replay driver for libFuzzer targets, in the manner of
 * systemd's src/fuzz/fuzz-main.c: every file named on the command line (or
 * found in a directory named there) is fed once to LLVMFuzzerTestOneInput.
 * This is how corpora and committed crash reproducers run as ordinary tests,
 * under ASan+UBSan in CI, without libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX (4u << 20)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(FUZZ_INPUT_MAX);
	if (!buf) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, FUZZ_INPUT_MAX, f);
	fclose(f);
	/* An exact-size copy lets ASan catch reads past the input. */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int run_path(const char *path, unsigned *count)
{
	struct stat st;
	struct dirent **ents;
	int n, i, err = 0;
	char sub[4096];

	if (stat(path, &st) < 0) {
		fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
			if (run_path(sub, count) < 0)
				err = -1;
		}
		free(ents[i]);
	}
	free(ents);
	return err;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int i, err = 0;

	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			err = 1;
	printf("fuzz replay: %u inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "fuzz replay: empty corpus\n");
		return 1;
	}
	return err;
}
