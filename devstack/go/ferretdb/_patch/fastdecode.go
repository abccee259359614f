// devstack's addition to FerretDB v1.24's sjson package (internal/handler/sjson), copied into the pinned module by
// devstack/services/ferretdb.py; the leading underscore keeps the go tool from building this folder on its own.
//
// FerretDB stores each document as JSON with its schema in `$s`, and its Unmarshal decodes every document, its
// schema and then every value through a fresh json.Decoder and reflection: about half of FerretDB's CPU in a full
// read (perf). Unmarshal calls devstackFastUnmarshal first; it walks the top-level object once with
// jsonparser (no allocation), reuses the schema parsed for the same `$s` bytes before (a collection's documents
// share a few), and decodes scalars straight from their bytes with what encoding/json itself calls (strconv,
// its own string unquoting when a string has an escape or a non-ASCII byte). Values of other types (nested
// documents, arrays, binary, regex, timestamp) go through the original unmarshalSingleValue, one by one.
//
// It returns false, and Unmarshal runs the original code on the whole document, on anything it does not expect:
// fields not in the schema's order or not right after `$s`, a value whose JSON type does not fit its schema, a
// number outside JSON's grammar or its Go type's range, bytes after the closing brace. So a result it returns is
// the one the original would, and every error is the original's. DEVSTACK_FERRETDB_FASTDECODE=off turns it off (to
// compare); =strict makes a document it declines an error instead (to see that it decodes what a test stores).

package sjson

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/buger/jsonparser"

	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

var fastDecodeMode = os.Getenv("DEVSTACK_FERRETDB_FASTDECODE")

// errDecline stops the walk; the caller falls back to the original decoder.
var errDecline = errors.New("sjson fast path declined")

// fieldPlan is one top-level field of a schema: its key and how its value is decoded.
type fieldPlan struct {
	key  string
	elem *elem // nil when the schema has no properties entry for the key (only a null value decodes then)
}

// docPlan is a parsed `$s`, or nil fields with ok false when the fast path cannot use it.
type docPlan struct {
	fields []fieldPlan
	ok     bool
}

// maxPlans bounds the schema cache: it starts again empty when full, so schemas seen once long ago (another
// collection's, a varied one's) never keep the current ones out.
const maxPlans = 4096

var (
	// plans maps the raw bytes of a `$s` value to its plan.
	plans   = make(map[string]*docPlan)
	plansMu sync.RWMutex
)

// devstackFastUnmarshal decodes data as Unmarshal does and returns true, or false for Unmarshal to decode it.
func devstackFastUnmarshal(data []byte) (*types.Document, bool, error) {
	if fastDecodeMode == "off" {
		return nil, false, nil
	}

	if doc, ok := fastUnmarshal(data); ok {
		return doc, true, nil
	}

	if fastDecodeMode == "strict" {
		const declined = "sjson fast path (DEVSTACK_FERRETDB_FASTDECODE=strict) declined a document of %d bytes"
		return nil, true, lazyerrors.Errorf(declined, len(data))
	}

	return nil, false, nil
}

// fastUnmarshal returns the document Unmarshal would, or false if it cannot be sure to.
func fastUnmarshal(data []byte) (*types.Document, bool) {
	w := fastWalk{data: data}
	if err := jsonparser.ObjectEach(data, w.field); err != nil || w.doc == nil || w.next != len(w.plan.fields) {
		return nil, false
	}

	if !closesAt(data, w.end) {
		return nil, false
	}

	return w.doc, true
}

// fastWalk is the state of one document's walk: the `$s` first, then each field in the schema's order.
type fastWalk struct {
	data []byte
	plan *docPlan
	doc  *types.Document
	next int // index of the next field expected in plan.fields
	end  int // offset just past the last value seen
}

func (w *fastWalk) field(key, value []byte, dataType jsonparser.ValueType, end int) error {
	w.end = end

	if w.plan == nil {
		if string(key) != "$s" || dataType != jsonparser.Object {
			return errDecline
		}

		w.plan = planFor(value)
		if !w.plan.ok {
			return errDecline
		}

		w.doc = types.MakeDocument(len(w.plan.fields))

		return nil
	}

	if w.next >= len(w.plan.fields) {
		return errDecline
	}

	f := &w.plan.fields[w.next]
	if string(key) != f.key {
		return errDecline
	}

	v, ok := decodeValue(rawValue(w.data, value, dataType, end), value, dataType, f.elem)
	if !ok {
		return errDecline
	}

	w.doc.Set(f.key, v)
	w.next++

	return nil
}

// rawValue is the value's JSON text: jsonparser hands strings over without their quotes.
func rawValue(data, value []byte, dataType jsonparser.ValueType, end int) []byte {
	if dataType == jsonparser.String {
		return data[end-len(value)-2 : end]
	}

	return value
}

// closesAt reports whether only JSON whitespace and the closing brace follow offset: the original refuses any byte
// after the document, whitespace included.
func closesAt(data []byte, offset int) bool {
	rest := bytes.TrimLeft(data[offset:], " \t\r\n")
	return len(rest) == 1 && rest[0] == '}'
}

// planFor returns the cached plan for a `$s` value, parsing and caching it on first sight.
func planFor(raw []byte) *docPlan {
	plansMu.RLock()
	p, ok := plans[string(raw)]
	plansMu.RUnlock()

	if ok {
		return p
	}

	p = parsePlan(raw)

	plansMu.Lock()
	if len(plans) >= maxPlans {
		clear(plans)
	}
	plans[string(raw)] = p
	plansMu.Unlock()

	return p
}

// parsePlan decodes a schema exactly as Unmarshal does (strict, nothing left over) and keeps it if every key can
// be matched byte for byte: no `$s` among them, no duplicate, no control character.
func parsePlan(raw []byte) *docPlan {
	var sch schema

	r := bytes.NewReader(raw)
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()

	if err := dec.Decode(&sch); err != nil || checkConsumed(dec, r) != nil {
		return &docPlan{}
	}

	seen := make(map[string]bool, len(sch.Keys))
	fields := make([]fieldPlan, len(sch.Keys))

	for i, key := range sch.Keys {
		if key == "$s" || seen[key] || hasControlByte(key) {
			return &docPlan{}
		}

		seen[key] = true
		fields[i] = fieldPlan{key: key, elem: sch.Properties[key]}
	}

	return &docPlan{fields: fields, ok: true}
}

func hasControlByte(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 {
			return true
		}
	}

	return false
}

// decodeValue decodes one value as unmarshalSingleValue does: scalars here, the rest by unmarshalSingleValue.
func decodeValue(raw, value []byte, dataType jsonparser.ValueType, sch *elem) (any, bool) {
	if dataType == jsonparser.Null {
		return types.Null, true
	}

	if sch == nil {
		return nil, false
	}

	switch sch.Type {
	case elemTypeDouble:
		return decodeDouble(value, dataType)
	case elemTypeString:
		s, ok := decodeString(raw, value, dataType)
		return s, ok
	case elemTypeInt:
		n, ok := decodeInteger(value, dataType, 32)
		return int32(n), ok
	case elemTypeLong:
		return decodeInteger(value, dataType, 64)
	case elemTypeDate:
		n, ok := decodeInteger(value, dataType, 64)
		return time.UnixMilli(n), ok
	case elemTypeBool:
		return decodeBool(value, dataType)
	case elemTypeObjectID:
		return decodeObjectID(value, dataType)
	case elemTypeObject, elemTypeArray, elemTypeBinData, elemTypeRegex, elemTypeTimestamp:
		v, err := unmarshalSingleValue(raw, sch)
		return v, err == nil
	}

	return nil, false
}

// decodeDouble parses as encoding/json does into a float64: strconv.ParseFloat, out of range refused.
func decodeDouble(value []byte, dataType jsonparser.ValueType) (any, bool) {
	if dataType != jsonparser.Number || !isJSONNumber(value) {
		return nil, false
	}

	f, err := strconv.ParseFloat(unsafeString(value), 64)

	return f, err == nil
}

// decodeInteger parses as encoding/json does into an int32 or int64: strconv.ParseInt, so no fraction or exponent.
func decodeInteger(value []byte, dataType jsonparser.ValueType, bits int) (int64, bool) {
	if dataType != jsonparser.Number || !isJSONInteger(value) {
		return 0, false
	}

	n, err := strconv.ParseInt(unsafeString(value), 10, bits)

	return n, err == nil
}

func decodeBool(value []byte, dataType jsonparser.ValueType) (any, bool) {
	if dataType != jsonparser.Boolean {
		return nil, false
	}

	return value[0] == 't', true
}

// decodeString returns the string encoding/json would: the bytes themselves when nothing needs unquoting
// (encoding/json's own shortcut), else its unquoting (escapes, invalid UTF-8 replaced, control characters refused).
func decodeString(raw, value []byte, dataType jsonparser.ValueType) (string, bool) {
	if dataType != jsonparser.String {
		return "", false
	}

	if isPlainString(value) {
		return string(value), true
	}

	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}

	return s, true
}

// isPlainString: no escape, no control character, valid UTF-8 (jsonparser already stopped at the closing quote).
func isPlainString(b []byte) bool {
	ascii := true

	for _, c := range b {
		if c < 0x20 || c == '\\' {
			return false
		}

		ascii = ascii && c < utf8.RuneSelf
	}

	return ascii || utf8.Valid(b)
}

// decodeObjectID decodes 24 hex digits as objectIDType does (an escaped digit is left to it).
func decodeObjectID(value []byte, dataType jsonparser.ValueType) (any, bool) {
	var id types.ObjectID
	if dataType != jsonparser.String || len(value) != hex.EncodedLen(len(id)) {
		return nil, false
	}

	if _, err := hex.Decode(id[:], value); err != nil {
		return nil, false
	}

	return id, true
}

// isJSONInteger: -?(0|[1-9][0-9]*), the integers of JSON's number grammar (strconv alone also takes "+1", "0x1").
func isJSONInteger(b []byte) bool {
	digits := b
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}

	return len(digits) > 0 && allDigits(digits) && (digits[0] != '0' || len(digits) == 1)
}

// isJSONNumber: JSON's number grammar, int frac? exp? (strconv alone also takes "Inf", "0x1p3", ".5", "1_0").
func isJSONNumber(b []byte) bool {
	intEnd := len(b)
	if i := bytes.IndexAny(b, ".eE"); i >= 0 {
		intEnd = i
	}

	if !isJSONInteger(b[:intEnd]) {
		return false
	}

	rest := b[intEnd:]
	if len(rest) > 0 && rest[0] == '.' {
		fracEnd := 1
		for fracEnd < len(rest) && isDigit(rest[fracEnd]) {
			fracEnd++
		}

		if fracEnd == 1 {
			return false
		}

		rest = rest[fracEnd:]
	}

	if len(rest) == 0 {
		return true
	}

	if rest[0] != 'e' && rest[0] != 'E' {
		return false
	}

	exp := rest[1:]
	if len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}

	return len(exp) > 0 && allDigits(exp)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}

	return true
}

func isDigit(c byte) bool {
	return '0' <= c && c <= '9'
}

// unsafeString views b as a string for strconv, which keeps no reference to it once parsed (its error would, and
// is dropped here).
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
