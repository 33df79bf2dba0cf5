/* Go's text/template, the part that `docker inspect -f` users rely on,
 * rendered over a jansson document the way Docker renders over its decoded
 * JSON (a map[string]interface{}).
 *
 * Syntax: literal text; actions {{...}} with trim markers {{- and -}} and
 * comments ({{ slash-star ... star-slash }}); . and .Field.Chain; $ and $var with $x := / $x =;
 * string ("..." and `...`), number, true/false/nil literals; pipelines with |;
 * parentheses with field access, (index .X 0).Field;
 * {{if}} / {{else if}} / {{else}} / {{end}}, {{with}} / {{else with}},
 * {{range}} over arrays and objects (values in sorted-key order; with
 * $v := or $i, $v :=; {{else}} when empty).
 * Functions: json index len upper lower join split print println
 * eq ne lt le gt ge and or not.
 *
 * Values print as Go's fmt %v prints interface{} values decoded from JSON:
 * strings raw, numbers as integers or as Go prints a float64, arrays
 * [a b], objects map[k:v] with sorted keys, null inside them <nil>, and a
 * missing key (or a null result) <no value>. */
#pragma once
#include <jansson.h>

#include "lib/error.h"

/* Renders `tmpl` with `doc` as dot (and $) into *out, a malloc'd string the
 * caller frees; no newline is added (Docker's inspect prints one after).
 * The whole template is parsed and checked first (syntax, function names
 * and argument counts, variables), and output is handed out only when all
 * of it rendered: on any error *out is NULL and err holds one line,
 * "template: WHAT at column N" ("at line L, column N" past the first line).
 * Returns 0, -EINVAL for a bad template or one that cannot be evaluated on
 * `doc` (a field of a string, len of a number...), or -ENOMEM.
 * doc may be NULL: every field is then missing. doc is not modified. */
int rl_template_render(const char *tmpl, json_t *doc, char **out, struct rl_error *err);
