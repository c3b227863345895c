// A live vouch server's audit log, checked with code no one here wrote: x/mod's note.Open against
// the published verifier key, x/mod's tlog over the C2SP tiles the server serves (through
// tlog.TileHashReader, which authenticates each tile against the checkpoint's root), and the
// server's inclusion and consistency proofs with x/mod's CheckRecord / CheckTree and
// transparency-dev/merkle's VerifyInclusion / VerifyConsistency.
//
// Runs only when VOUCH_LIVE_URL names the server (tests/integration/test_audit_interop.py starts
// one, makes events and a checkpoint, and runs this test); VOUCH_LIVE_TOKEN is an admin's or
// auditor's token for the entry bundles and the inclusion proofs.
package interop_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type liveServer struct {
	t     *testing.T
	url   string
	token string
	reads int
}

func (s *liveServer) get(path string, auth bool) ([]byte, string) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	s.reads++
	return body, resp.Header.Get("Content-Type")
}

// The server's C2SP hash tiles, for tlog.TileHashReader (x/mod's tile paths carry the height).
type httpTiles struct{ s *liveServer }

func (h httpTiles) Height() int { return 8 }
func (h httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		b, ctype := h.s.get("/api/v1/audit/log/"+c2spPath(tile), false)
		if ctype != "application/octet-stream" {
			return nil, fmt.Errorf("%s: Content-Type %q", c2spPath(tile), ctype)
		}
		out[i] = b
	}
	return out, nil
}
func (h httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func decodeHashes(t *testing.T, b64 []string) [][]byte {
	t.Helper()
	out := make([][]byte, len(b64))
	for i, s := range b64 {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 32 {
			t.Fatalf("proof hash %q", s)
		}
		out[i] = b
	}
	return out
}

func asTlogHashes(raw [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(raw))
	for i, b := range raw {
		copy(out[i][:], b)
	}
	return out
}

func TestLiveServer(t *testing.T) {
	url := os.Getenv("VOUCH_LIVE_URL")
	if url == "" {
		t.Skip("VOUCH_LIVE_URL is not set (tests/integration/test_audit_interop.py sets it)")
	}
	s := &liveServer{t: t, url: strings.TrimSuffix(url, "/"), token: os.Getenv("VOUCH_LIVE_TOKEN")}

	// The checkpoint, opened by x/mod against each published verifier key.
	keys, _ := s.get("/api/v1/audit/keys?format=text", false)
	var verifiers []note.Verifier
	for _, line := range strings.Split(string(keys), "\n") {
		if v, err := note.NewVerifier(strings.TrimSpace(line)); err == nil {
			verifiers = append(verifiers, v)
		}
	}
	if len(verifiers) == 0 {
		t.Fatalf("no verifier key among the published ones: %q", keys)
	}
	cpText, ctype := s.get("/api/v1/audit/log/checkpoint", false)
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("checkpoint Content-Type %q", ctype)
	}
	n, err := note.Open(cpText, note.VerifierList(verifiers...))
	if err != nil {
		t.Fatalf("note.Open of the server's checkpoint: %v\n%s", err, cpText)
	}
	cp := parseCheckpoint(t, n.Text)
	// transparency-dev/formats parses the same checkpoint, with the key that signed it.
	for _, v := range verifiers {
		if v.KeyHash() != n.Sigs[0].Hash || v.Name() != n.Sigs[0].Name {
			continue
		}
		fcp, _, _, err := flog.ParseCheckpoint(cpText, cp.origin, v)
		if err != nil {
			t.Fatalf("formats' log.ParseCheckpoint: %v", err)
		}
		if int64(fcp.Size) != cp.size || string(fcp.Hash) != string(cp.root[:]) {
			t.Fatalf("formats reads size %d, we read %d", fcp.Size, cp.size)
		}
	}
	if cp.size < 2 {
		t.Fatalf("the test wants a checkpoint of at least 2 events, got %d", cp.size)
	}

	// The entries, each event carrying its own seq, recompute the checkpoint's root.
	var leaves [][]byte
	for first := int64(0); first < cp.size; first += 256 {
		w := min(256, cp.size-first)
		path := fmt.Sprintf("/api/v1/audit/log/tile/entries/%s", strings.TrimPrefix(
			c2spPath(tlog.Tile{H: 8, L: 0, N: first / 256, W: int(w)}), "tile/0/"))
		bundle, _ := s.get(path, true)
		for len(bundle) > 0 {
			l := int(binary.BigEndian.Uint16(bundle))
			leaves = append(leaves, bundle[2:2+l])
			bundle = bundle[2+l:]
		}
	}
	if int64(len(leaves)) != cp.size {
		t.Fatalf("the entry bundles hold %d events, the checkpoint %d", len(leaves), cp.size)
	}
	for i, leaf := range leaves {
		var ev struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(leaf, &ev); err != nil || ev.Seq != int64(i+1) {
			t.Fatalf("entry %d carries seq %d (%v)", i, ev.Seq, err)
		}
	}
	g := buildGoTree(t, leaves)
	if got := g.root(t, cp.size); got != cp.root {
		t.Fatalf("x/mod's root of the entries %v, the checkpoint's %v", got, cp.root)
	}

	// The hash tiles, read and authenticated by x/mod against the checkpoint.
	tree := tlog.Tree{N: cp.size, Hash: cp.root}
	reader := tlog.TileHashReader(tree, httpTiles{s})
	for i := int64(0); i < cp.size; i++ {
		p, err := tlog.ProveRecord(cp.size, i, reader)
		if err != nil {
			t.Fatalf("tlog.ProveRecord(%d) over the server's tiles: %v", i, err)
		}
		if err := tlog.CheckRecord(p, cp.size, cp.root, i, tlog.RecordHash(leaves[i])); err != nil {
			t.Fatalf("tlog.CheckRecord(%d) over the server's tiles: %v", i, err)
		}
	}

	// The server's own proofs.
	for i := int64(0); i < cp.size; i++ {
		body, _ := s.get(fmt.Sprintf("/api/v1/audit/proof/inclusion?seq=%d", i+1), true)
		var inc struct {
			Index  int64    `json:"index"`
			Size   int64    `json:"size"`
			Hashes []string `json:"hashes"`
			Event  string   `json:"event"`
		}
		if err := json.Unmarshal(body, &inc); err != nil {
			t.Fatal(err)
		}
		if inc.Index != i || inc.Size != cp.size || inc.Event != string(leaves[i]) {
			t.Fatalf("inclusion proof of seq %d: index %d size %d", i+1, inc.Index, inc.Size)
		}
		hs := decodeHashes(t, inc.Hashes)
		if err := tlog.CheckRecord(asTlogHashes(hs), cp.size, cp.root, i,
			tlog.RecordHash(leaves[i])); err != nil {
			t.Fatalf("x/mod CheckRecord of the server's proof of seq %d: %v", i+1, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(cp.size),
			rfc6962.DefaultHasher.HashLeaf(leaves[i]), hs, cp.root[:]); err != nil {
			t.Fatalf("merkle VerifyInclusion of the server's proof of seq %d: %v", i+1, err)
		}
	}
	for m := int64(1); m <= cp.size; m++ {
		body, _ := s.get(fmt.Sprintf("/api/v1/audit/proof/consistency?from=%d", m), false)
		var con struct {
			From   int64    `json:"from"`
			To     int64    `json:"to"`
			Hashes []string `json:"hashes"`
		}
		if err := json.Unmarshal(body, &con); err != nil {
			t.Fatal(err)
		}
		if con.From != m || con.To != cp.size {
			t.Fatalf("consistency proof from %d: from %d to %d", m, con.From, con.To)
		}
		hs := decodeHashes(t, con.Hashes)
		old := g.root(t, m)
		if err := tlog.CheckTree(asTlogHashes(hs), cp.size, cp.root, m, old); err != nil {
			t.Fatalf("x/mod CheckTree of the server's proof %d→%d: %v", m, cp.size, err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(m), uint64(cp.size), hs,
			old[:], cp.root[:]); err != nil {
			t.Fatalf("merkle VerifyConsistency %d→%d: %v", m, cp.size, err)
		}
	}
	t.Logf("checked a live log of %d events (%d requests)", cp.size, s.reads)
}
