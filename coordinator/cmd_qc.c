/* cmd_qc.c — `shotfarm qc FILE... [--json]`: the QC the qc units run on every deliverable
 * (io/sf_qc.h: EBU R 103 levels, black and frozen runs, ITU-R BT.1702 flashes), on any video
 * file. Called by main.c. One line per file on stdout ("PASS path" or "FAIL path: reasons"), or
 * with --json one JSON document; exit 0 when every file passes, 1 when one fails or cannot be
 * decoded. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_json.h"
#include "sf_qc.h"
#include "sf_status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define CMD "qc"

static void usage(FILE *f)
{
    fprintf(f, "usage: shotfarm qc FILE... [--json]\n\n"
               "Checks each video file as render checks its deliverables (docs/review.md § QC):\n"
               "video levels within EBU R 103's tolerance, no black run of 0.5 s or more, no\n"
               "freeze of 1 s or more, and no more than 3 flashes or red flashes in any second\n"
               "(ITU-R BT.1702).\n\n"
               "  --json   one JSON document on stdout: {\"files\": [{\"path\", \"qc\"}]}\n\n"
               "exit codes: 0 every file passes, 1 a file fails or cannot be decoded, 2 usage\n");
}

int sf_cmd_qc(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0;
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1;) {
        if (c == 'j')
            json = 1;
        else if (c == 'h')
            return usage(stdout), SF_OK;
        else
            return sf_cli_usage_error(CMD, "unknown option %s", argv[optind - 1]);
    }
    if (optind >= argc) return sf_cli_usage_error(CMD, "give one or more video files");
    int st = SF_OK;
    struct sf_jw w;
    if (json) {
        sf_jw_init(&w, stdout, 2);
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "files"), sf_jw_arr_begin(&w);
    }
    for (int i = optind; i < argc; i++) {
        struct sf_qc_result r;
        int s = sf_qc_file(argv[i], NULL, &r);
        if (s) {
            st = s;
            continue; /* the cause is logged with the path */
        }
        if (!r.pass && st == SF_OK) st = SF_E_INVAL;
        if (json) {
            sf_jw_obj_begin(&w);
            sf_jw_key(&w, "path"), sf_jw_str(&w, argv[i]);
            sf_jw_key(&w, "qc"), sf_qc_write_json(&w, &r);
            sf_jw_obj_end(&w);
        } else if (r.pass) {
            printf("PASS %s\n", argv[i]);
        } else {
            printf("FAIL %s: %s\n", argv[i], r.failures);
        }
    }
    if (json) {
        sf_jw_arr_end(&w);
        sf_jw_obj_end(&w);
        sf_jw_finish(&w);
    }
    return st;
}
