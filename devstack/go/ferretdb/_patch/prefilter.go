// devstack's addition to FerretDB v1.24's SQLite backend (package internal/backends/sqlite), copied into the
// pinned module by devstack/services/ferretdb.py; the leading underscore keeps the go tool from building this
// folder on its own.
//
// Unpatched, the backend pushes only `_id` equality into SQL, so every other query makes FerretDB decode every
// stored document in Go. This pushes a pre-filter on numeric ranges and `$mod` into the WHERE clause. FerretDB
// still runs its own filter on every row SQLite returns, so the condition only ever has to be a SUPERSET of
// what the filter matches: anything SQLite does not hold as a JSON number (arrays, which match `$lt` by any
// element; objects, strings, null, a missing field) passes, and bounds are widened by a few ulps because
// SQLite's text-to-double conversion need not round as Go's encoder did. A filter with anything else in it is
// not pushed at all, so no query that would fail in FerretDB's filter (an unknown operator, a zero divisor)
// is silently answered with nothing. DEVSTACK_FERRETDB_PREFILTER=off turns it off (to compare results).

package sqlite

import (
	"math"
	"os"
	"regexp"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/types"
)

var prefilterOff = os.Getenv("DEVSTACK_FERRETDB_PREFILTER") == "off"

// prefilterKey: top-level field names that need no escaping inside a quoted JSON path label.
var prefilterKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// prefilterSlack is how many ulps a bound is widened by.
const prefilterSlack = 4

// devstackPrefilter returns a WHERE clause and its arguments for filter, or "" when it cannot push it.
func devstackPrefilter(filter *types.Document) (string, []any) {
	if prefilterOff || filter.Len() == 0 {
		return "", nil
	}

	var conds []string
	var args []any
	values := filter.Values()

	for i, key := range filter.Keys() {
		ops, ok := values[i].(*types.Document)
		if !ok || !prefilterKey.MatchString(key) {
			return "", nil
		}

		cond, condArgs, ok := prefilterField(`$."`+key+`"`, ops)
		if !ok {
			return "", nil
		}

		conds = append(conds, cond)
		args = append(args, condArgs...)
	}

	return ` WHERE ` + strings.Join(conds, ` AND `), args
}

// prefilterField is the condition on one field for a document of operators, false if one cannot be pushed.
func prefilterField(path string, ops *types.Document) (string, []any, bool) {
	value := `json_extract(` + metadata.DefaultColumn + `, ?)`
	conds := []string{`typeof(` + value + `) NOT IN ('integer', 'real')`}
	args := []any{path}
	values := ops.Values()

	for i, op := range ops.Keys() {
		switch op {
		case "$gt", "$gte":
			bound, ok := finiteNumber(values[i])
			if !ok {
				return "", nil, false
			}

			conds = append(conds, value+` >= ?`)
			args = append(args, path, widen(bound, math.Inf(-1)))

		case "$lt", "$lte":
			bound, ok := finiteNumber(values[i])
			if !ok {
				return "", nil, false
			}

			conds = append(conds, value+` <= ?`)
			args = append(args, path, widen(bound, math.Inf(1)))

		case "$mod":
			divisor, remainder, ok := modOperands(values[i])
			if !ok {
				return "", nil, false
			}

			// only exact integers: FerretDB truncates a double, which a wrongly rounded parse could change
			conds = append(conds, `(typeof(`+value+`) != 'integer' OR `+value+` % ? = ?)`)
			args = append(args, path, path, divisor, remainder)

		default:
			return "", nil, false
		}
	}

	if len(conds) == 1 {
		return "", nil, false
	}

	// the first condition lets every non-number through, the others (ANDed) hold for the numbers
	return `(` + conds[0] + ` OR (` + strings.Join(conds[1:], ` AND `) + `))`, args, true
}

func finiteNumber(v any) (float64, bool) {
	var f float64

	switch v := v.(type) {
	case int32:
		f = float64(v)
	case int64:
		f = float64(v)
	case float64:
		f = v
	default:
		return 0, false
	}

	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// modOperands accepts `[divisor, remainder]` of integers with a non-zero divisor, as FerretDB's filter does
// without an error.
func modOperands(v any) (int64, int64, bool) {
	arr, ok := v.(*types.Array)
	if !ok || arr.Len() != 2 {
		return 0, 0, false
	}

	var ints [2]int64

	for i := range ints {
		elem, err := arr.Get(i)
		if err != nil {
			return 0, 0, false
		}

		switch n := elem.(type) {
		case int32:
			ints[i] = int64(n)
		case int64:
			ints[i] = n
		default:
			return 0, 0, false
		}
	}

	return ints[0], ints[1], ints[0] != 0
}

// widen moves bound prefilterSlack ulps toward direction.
func widen(bound, direction float64) float64 {
	for range prefilterSlack {
		bound = math.Nextafter(bound, direction)
	}

	return bound
}
