// devstack's addition to FerretDB's wire package (github.com/FerretDB/wire v0.0.7, which FerretDB v1.24 uses),
// copied into the pinned module by devstack/services/ferretdb.py; the leading underscore keeps the go tool from
// building this folder on its own.
//
// FerretDB sets wire.CheckNaNs, so OpMsg.check decodes every document of every message it reads (DecodeDeep, one
// allocation per field, nested document and array) only to look for a NaN double; wire's debug build ran it again
// on every reply FerretDB wrote. Together ~24% of FerretDB's CPU in a full read (perf). check calls
// devstackScannedClean first: it walks each document's raw BSON as DecodeDeep does, with the same bounds checks,
// skips every value by its size, and allocates nothing. It returns false, and check runs the original on the whole
// message, on a NaN (so the error is the original's) and on anything DecodeDeep would refuse or this walk does not
// know (a size that does not add up, a bool byte other than 0 or 1, an array key out of sequence, a type DecodeDeep
// refuses or an unknown type byte, a truncated element). So a message it passes is one the original passes, and
// every error is the original's. DEVSTACK_FERRETDB_WIRECHECK=full turns it off and restores the reply check (to
// compare).

package wire

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
)

var devstackWireCheckFull = os.Getenv("DEVSTACK_FERRETDB_WIRECHECK") == "full"

// devstackScannedClean reports whether every document of msg is valid BSON that DecodeDeep accepts, with no NaN.
func devstackScannedClean(msg *OpMsg) bool {
	if devstackWireCheckFull {
		return false
	}

	for _, s := range msg.sections {
		for _, d := range s.documents {
			if !scanDocument(d, false) {
				return false
			}
		}
	}

	return true
}

// scanDocument walks one document (or array: its keys must be "0", "1", ...) that takes the whole of b.
func scanDocument(b []byte, isArray bool) bool {
	if l, ok := rawLength(b); !ok || l != len(b) {
		return false
	}

	offset := 4

	for index := 0; ; index++ {
		t := b[offset] // in range: the previous element ended before len(b), checked below
		if t == 0 {
			return offset == len(b)-1
		}

		offset++

		nameLen := bytes.IndexByte(b[offset:], 0)
		if nameLen < 0 || (isArray && !isArrayIndex(b[offset:offset+nameLen], index)) {
			return false
		}

		offset += nameLen + 1

		size, ok := scanValue(t, b[offset:])
		if !ok {
			return false
		}

		offset += size
		if offset >= len(b) {
			return false
		}
	}
}

// rawLength is wirebson.FindRaw: the length a document or array at the start of b declares, if b holds it.
func rawLength(b []byte) (int, bool) {
	if len(b) < 5 {
		return 0, false
	}

	l := int(binary.LittleEndian.Uint32(b))
	if l < 5 || len(b) < l || b[l-1] != 0 {
		return 0, false
	}

	return l, true
}

// isArrayIndex reports whether name is strconv.Itoa(index), without allocating.
func isArrayIndex(name []byte, index int) bool {
	if len(name) == 0 || (name[0] == '0' && len(name) > 1) {
		return false
	}

	n := 0

	for _, c := range name {
		if c < '0' || c > '9' || n > index {
			return false
		}

		n = n*10 + int(c-'0')
	}

	return n == index
}

// scanValue returns the size of a value of type t at the start of b, as wirebson's decoders read it (b runs to the
// end of the enclosing document, as theirs does), or false for a NaN or anything DecodeDeep would not accept.
func scanValue(t byte, b []byte) (int, bool) {
	switch t {
	case 0x01: // double
		if len(b) < 8 || math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(b))) {
			return 0, false
		}

		return 8, true

	case 0x02: // string: length (counting its 0 byte), bytes, 0
		if len(b) < 5 {
			return 0, false
		}

		l := int(binary.LittleEndian.Uint32(b))
		if l < 1 || len(b) < 4+l || b[4+l-1] != 0 {
			return 0, false
		}

		return 4 + l, true

	case 0x03, 0x04: // document, array
		l, ok := rawLength(b)
		if !ok || !scanDocument(b[:l], t == 0x04) {
			return 0, false
		}

		return l, true

	case 0x05: // binary: length, subtype, bytes
		if len(b) < 5 {
			return 0, false
		}

		l := int(binary.LittleEndian.Uint32(b))
		if len(b) < 5+l {
			return 0, false
		}

		return 5 + l, true

	case 0x07: // ObjectId
		return fixedSize(b, 12)

	case 0x08: // bool
		if len(b) < 1 || b[0] > 1 {
			return 0, false
		}

		return 1, true

	case 0x09, 0x11, 0x12: // UTC datetime, timestamp, int64
		return fixedSize(b, 8)

	case 0x0a: // null
		return 0, true

	case 0x0b: // regex: pattern and options, two C strings
		if len(b) < 2 {
			return 0, false
		}

		pattern := bytes.IndexByte(b, 0)
		if pattern < 0 {
			return 0, false
		}

		options := bytes.IndexByte(b[pattern+1:], 0)
		if options < 0 {
			return 0, false
		}

		return pattern + 1 + options + 1, true

	case 0x10: // int32
		return fixedSize(b, 4)

	case 0x13: // decimal128
		return fixedSize(b, 16)
	}

	// undefined, DBPointer, JavaScript, symbol, JavaScript with scope, min and max key: DecodeDeep refuses them
	return 0, false
}

func fixedSize(b []byte, size int) (int, bool) {
	return size, len(b) >= size
}
