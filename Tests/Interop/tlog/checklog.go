// checklog checks QSPP's transparency log with code that is not QSPP's: Go's checksum-database
// packages golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian's golang-golang-x-mod-dev. Test-only.
//
// It reads one JSON object on standard input:
//
//	{"vkey": "name+id+key", "note": "<signed checkpoint>",
//	 "inclusion": [{"index": 0, "leaf": "<base64>", "proof": ["<base64>", ...]}],
//	 "consistency": [{"size": 3, "root": "<base64>", "proof": ["<base64>", ...]}]}
//
// Exit 0 prints VALID: the note is signed by vkey, every leaf is in the tree it states and the tree
// extends every older tree given. Exit 1 prints "INVALID: <reason>", the verdict. Exit 2 is everything
// else (bad input, a bug), so a test expecting a refusal cannot pass because this program failed.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	VKey      string `json:"vkey"`
	Note      string `json:"note"`
	Inclusion []struct {
		Index int64    `json:"index"`
		Leaf  string   `json:"leaf"`
		Proof []string `json:"proof"`
	} `json:"inclusion"`
	Consistency []struct {
		Size  int64    `json:"size"`
		Root  string   `json:"root"`
		Proof []string `json:"proof"`
	} `json:"consistency"`
}

func fail(code int, format string, args ...any) {
	prefix := "ERROR: "
	if code == 1 {
		prefix = "INVALID: "
	}
	fmt.Println(prefix + fmt.Sprintf(format, args...))
	os.Exit(code)
}

func hash(text string) tlog.Hash {
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) != tlog.HashSize {
		fail(2, "not a base64 hash: %q", text)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func hashes(texts []string) []tlog.Hash {
	out := make([]tlog.Hash, len(texts))
	for i, text := range texts {
		out[i] = hash(text)
	}
	return out
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(2, "reading the request: %v", err)
	}
	verifier, err := note.NewVerifier(req.VKey)
	if err != nil {
		fail(2, "the verifier key: %v", err)
	}
	opened, err := note.Open([]byte(req.Note), note.VerifierList(verifier))
	if err != nil {
		fail(1, "the note does not verify: %v", err)
	}
	// A C2SP checkpoint: origin, size, base64 root hash, then optional extension lines.
	lines := strings.Split(opened.Text, "\n")
	if len(lines) < 4 {
		fail(1, "the note is not a checkpoint")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail(1, "the checkpoint's size is not a number")
	}
	root := hash(lines[2])
	for _, in := range req.Inclusion {
		leaf, err := base64.StdEncoding.DecodeString(in.Leaf)
		if err != nil {
			fail(2, "not a base64 leaf")
		}
		if err := tlog.CheckRecord(hashes(in.Proof), size, root, in.Index, tlog.RecordHash(leaf)); err != nil {
			fail(1, "leaf %d is not in the tree of %d: %v", in.Index, size, err)
		}
	}
	for _, old := range req.Consistency {
		if err := tlog.CheckTree(hashes(old.Proof), size, root, old.Size, hash(old.Root)); err != nil {
			fail(1, "the tree of %d does not extend the tree of %d: %v", size, old.Size, err)
		}
	}
	fmt.Println("VALID")
}
