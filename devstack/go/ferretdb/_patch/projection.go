// devstack's addition to FerretDB v1.24's find (package internal/handler/common), copied into the pinned module by
// devstack/services/ferretdb.py; the leading underscore keeps the go tool from building this folder on its own.
//
// Unpatched, find projects every document it returns, even with no projection: ProjectDocument deep-copies the
// document twice and sets each field on a new one, a third of FerretDB's CPU in a full read (perf). The documents a
// find's iterator hands on are decoded from the backend for this query alone, so the two projections a batch read
// asks for most are done on the document itself, with the result ProjectDocument builds: none (the document, its
// _id first) and {_id: 0} (the document without its _id, the other fields in their order). Any other projection,
// or a document whose first field is not _id, takes FerretDB's own code. DEVSTACK_FERRETDB_PROJECTION=full: every
// document through ProjectDocument as FerretDB wrote it, its exclusion copy included (to compare).

package common

import (
	"os"

	"github.com/FerretDB/FerretDB/internal/types"
)

var projectionFull = os.Getenv("DEVSTACK_FERRETDB_PROJECTION") == "full"

// devstackProjectInPlace returns the projected document and true when it could project doc in place.
func devstackProjectInPlace(doc, projection *types.Document, inclusion bool) (*types.Document, bool) {
	if projectionFull || doc.Len() == 0 || doc.Keys()[0] != "_id" {
		return nil, false
	}

	switch projection.Len() {
	case 0:
		return doc, true
	case 1:
		if id, err := projection.Get("_id"); err == nil && id == false && !inclusion {
			doc.Remove("_id")
			return doc, true
		}
	}

	return nil, false
}
