/* unicode_tables.h — the shapes of the generated tables in unicode_tables.c (written by
 * scripts/gen_unicode_tables.py). Private to node/: unicode.c, prompt_clean.c and tokenizer.c
 * read them through sf_unicode.h's functions or directly. Every table is sorted by its key. */
#ifndef SF_UNICODE_TABLES_H
#define SF_UNICODE_TABLES_H

#include <stdint.h>

struct sf_uc_range { uint32_t lo, hi; };
struct sf_uc_range8 { uint32_t lo, hi; uint8_t value; };
struct sf_uc_decomp { uint32_t cp; uint16_t off; uint8_t len; }; /* into sf_uc_decomp_pool */
struct sf_uc_comp { uint64_t pair; uint32_t cp; };                /* pair = first << 21 | second */
struct sf_uc_map { uint32_t cp; const char *utf8; };
struct sf_uc_entity { const char *name; const char *utf8; };      /* name without the '&' */

extern const char sf_uc_unicode_version[];
/* The UTF-8 string a sf_uc_map table gives cp, or NULL (unicode.c). */
const char *sf_uc_map_lookup(const struct sf_uc_map *t, int n, uint32_t cp);
extern const struct sf_uc_range8 sf_uc_ccc_table[];
extern const int sf_uc_ccc_count;
extern const struct sf_uc_decomp sf_uc_decomp_table[];
extern const int sf_uc_decomp_count;
extern const uint32_t sf_uc_decomp_pool[];
extern const struct sf_uc_comp sf_uc_comp_table[];
extern const int sf_uc_comp_count;
extern const struct sf_uc_range sf_uc_pyspace_table[];
extern const int sf_uc_pyspace_count;
extern const struct sf_uc_range sf_uc_white_space_table[];
extern const int sf_uc_white_space_count;
/* value: low 4 bits enum sf_uc_gcb, bit 4 Extended_Pictographic, bits 5-6 InCB
 * (1 Linker, 2 Consonant, 3 Extend). */
extern const struct sf_uc_range8 sf_uc_grapheme_table[];
extern const int sf_uc_grapheme_count;
extern const struct sf_uc_map sf_uc_ftfy_width_table[];
extern const int sf_uc_ftfy_width_count;
extern const struct sf_uc_map sf_uc_ftfy_ligature_table[];
extern const int sf_uc_ftfy_ligature_count;
extern const struct sf_uc_range sf_uc_ftfy_control_table[];
extern const int sf_uc_ftfy_control_count;
extern const uint16_t sf_uc_ftfy_c1_table[32];
extern const struct sf_uc_entity sf_uc_html5_table[];
extern const int sf_uc_html5_count;
extern const struct sf_uc_entity sf_uc_ftfy_upper_entity_table[];
extern const int sf_uc_ftfy_upper_entity_count;
extern const struct sf_uc_map sf_uc_html_invalid_charref_table[];
extern const int sf_uc_html_invalid_charref_count;
extern const struct sf_uc_range sf_uc_html_invalid_codepoint_table[];
extern const int sf_uc_html_invalid_codepoint_count;

#endif
