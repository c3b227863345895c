// Interoperability of vouch's transparency-log formats (src/vouch/tlog) with Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog, code no one here wrote.
//
// transparency-dev/formats (log.ParseCheckpoint, the C2SP tlog-cosignature witness keys) and
// transparency-dev/merkle (RFC 9162 proof verification) check the same files a second way.
//
// Both directions run the vouch binary named by $VOUCH_BIN (`vouch dev tlog …`):
//   - vouch writes a signed checkpoint, hash tiles, entry bundles, tlog-proof files and consistency
//     proofs; Go opens the notes, recomputes the tree, reads vouch's tiles through
//     tlog.TileHashReader (which authenticates each tile against the tree) and checks every proof
//     with tlog.CheckRecord / tlog.CheckTree;
//   - Go signs a checkpoint, computes tiles and proofs; `vouch dev tlog verify` checks them.
//
// x/mod's tile paths carry the height (tile/8/0/…) where C2SP's do not (tile/0/…); x/mod's
// checkpoint parser (tlog.ParseTree) accepts only the go.sum origin, so the C2SP checkpoint body
// is parsed here.
package interop_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "vouch.example/api/v1/audit/log"

func vouchBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("VOUCH_BIN")
	if bin == "" {
		t.Fatal("VOUCH_BIN must name the vouch binary (scripts/test sets it)")
	}
	return bin
}

func runVouch(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(vouchBin(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running vouch: %v", err)
	}
	return out.String(), errOut.String(), code
}

// Leaves shaped like audit events (canonical JSON, no newline inside), of varying lengths.
func makeLeaves(n int) [][]byte {
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = []byte(fmt.Sprintf(`{"action":"version.create","seq":%d,"x":"%s"}`, i+1,
			strings.Repeat("z", i%37)))
	}
	return leaves
}

// A tree kept as Go's stored hashes.
type goTree struct {
	hashes []tlog.Hash
	n      int64
}

func (g *goTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x >= int64(len(g.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = g.hashes[x]
	}
	return out, nil
}

func buildGoTree(t *testing.T, leaves [][]byte) *goTree {
	t.Helper()
	g := &goTree{}
	for i, l := range leaves {
		hs, err := tlog.StoredHashes(int64(i), l, g)
		if err != nil {
			t.Fatal(err)
		}
		g.hashes = append(g.hashes, hs...)
		g.n++
	}
	return g
}

func (g *goTree) root(t *testing.T, n int64) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(n, g)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// C2SP's tile path for a tile x/mod names with its height.
func c2spPath(tile tlog.Tile) string {
	return "tile/" + strings.TrimPrefix(tile.Path(), fmt.Sprintf("tile/%d/", tile.H))
}

// Reads C2SP-named hash tiles from a directory, for tlog.TileHashReader.
type dirTiles struct {
	dir   string
	saved int
}

func (d *dirTiles) Height() int { return 8 }
func (d *dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		b, err := os.ReadFile(filepath.Join(d.dir, c2spPath(tile)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (d *dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) { d.saved += len(tiles) }

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// The C2SP tlog-checkpoint body: origin, size, base64 root, then optional extension lines.
func parseCheckpoint(t *testing.T, text string) checkpoint {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || !strings.HasSuffix(text, "\n") {
		t.Fatalf("malformed checkpoint %q", text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || strconv.FormatInt(size, 10) != lines[1] {
		t.Fatalf("checkpoint size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		t.Fatalf("checkpoint root %q: %v", lines[2], err)
	}
	return checkpoint{lines[0], size, root}
}

type proofFile struct {
	index      int64
	proof      tlog.RecordProof
	checkpoint []byte
}

// The C2SP tlog-proof form.
func parseProofFile(t *testing.T, b []byte) proofFile {
	t.Helper()
	head, cp, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		t.Fatalf("no blank line in proof %q", b)
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		t.Fatalf("first line %q", lines[0])
	}
	lines = lines[1:]
	if strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:]
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil || !strings.HasPrefix(lines[0], "index ") {
		t.Fatalf("index line %q", lines[0])
	}
	var p proofFile
	p.index = index
	for _, l := range lines[1:] {
		h, err := tlog.ParseHash(l)
		if err != nil {
			t.Fatalf("proof hash %q: %v", l, err)
		}
		p.proof = append(p.proof, h)
	}
	p.checkpoint = cp
	return p
}

func raw(hashes []tlog.Hash) [][]byte {
	out := make([][]byte, len(hashes))
	for i := range hashes {
		out[i] = hashes[i][:]
	}
	return out
}

func formatProofFile(index int64, proof tlog.RecordProof, cp []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "c2sp.org/tlog-proof@v1\nindex %d\n", index)
	for _, h := range proof {
		b.WriteString(h.String() + "\n")
	}
	b.WriteString("\n")
	b.Write(cp)
	return b.Bytes()
}

// Pairs (a, n) over the tree: small ones, the tile edges, and `count` drawn with a fixed seed (the
// same pairs every run).
func samplePairs(n int64, count int, seed uint64) [][2]int64 {
	pairs := [][2]int64{{0, 1}, {0, n}, {n - 1, n}, {255, 256}, {256, 257}, {255, n}, {256, n}}
	r := mrand.New(mrand.NewPCG(seed, 14))
	for i := 0; i < count; i++ {
		size := 1 + r.Int64N(n)
		pairs = append(pairs, [2]int64{r.Int64N(size), size})
	}
	var out [][2]int64
	for _, p := range pairs {
		if p[1] <= n && p[0] < p[1] {
			out = append(out, p)
		}
	}
	return out
}

func TestVouchKeysAreGoKeys(t *testing.T) {
	out, _, code := runVouch(t, nil, "dev", "tlog", "keygen", "--name", origin)
	if code != 0 {
		t.Fatalf("keygen exit %d", code)
	}
	keys := strings.Split(strings.TrimSpace(out), "\n")
	signer, err := note.NewSigner(keys[0])
	if err != nil {
		t.Fatalf("Go refuses vouch's signer key: %v", err)
	}
	verifier, err := note.NewVerifier(keys[1])
	if err != nil {
		t.Fatalf("Go refuses vouch's verifier key: %v", err)
	}
	if signer.Name() != origin || signer.KeyHash() != verifier.KeyHash() {
		t.Fatalf("signer %s+%08x, verifier %s+%08x", signer.Name(), signer.KeyHash(),
			verifier.Name(), verifier.KeyHash())
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(verifier)); err != nil {
		t.Fatalf("a note Go signed with vouch's key: %v", err)
	}
}

func TestGoVerifiesWhatVouchWrites(t *testing.T) {
	const n = 70000 // full level-1 tiles and partial ones at levels 0, 1 and 2
	leaves := makeLeaves(n)
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "skey")
	os.WriteFile(keyFile, []byte(skey+"\n"), 0o600)
	wskey, wvkey, err := note.GenerateKey(rand.Reader, "witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	witnessFile := filepath.Join(dir, "witness")
	os.WriteFile(witnessFile, []byte(wskey+"\n"), 0o600)
	out := filepath.Join(dir, "out")
	inclusion := samplePairs(n, 200, 1)
	consistency := samplePairs(n, 200, 2)
	args := []string{"dev", "tlog", "write", "--key", keyFile, "--cosigner", witnessFile, "--out", out}
	for _, p := range inclusion {
		args = append(args, "--inclusion", fmt.Sprintf("%d:%d", p[0], p[1]))
	}
	for _, p := range consistency {
		if p[0] > 0 {
			args = append(args, "--consistency", fmt.Sprintf("%d:%d", p[0], p[1]))
		}
	}
	stdin := bytes.Join(leaves, []byte("\n"))
	if _, stderr, code := runVouch(t, append(stdin, '\n'), args...); code != 0 {
		t.Fatalf("vouch dev tlog write: exit %d: %s", code, stderr)
	}

	g := buildGoTree(t, leaves)
	root := g.root(t, n)

	// The checkpoint: Go's note.Open with the log's key, then the C2SP body.
	cpNote, err := os.ReadFile(filepath.Join(out, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	opened, err := note.Open(cpNote, note.VerifierList(verifier))
	if err != nil {
		t.Fatalf("note.Open of vouch's checkpoint: %v", err)
	}
	cp := parseCheckpoint(t, opened.Text)
	if cp.origin != origin || cp.size != n || cp.root != root {
		t.Fatalf("checkpoint %+v; Go computes size %d root %v", cp, n, root)
	}

	// transparency-dev/formats: the log's signature, the witness's cosignature/v1, the body.
	cosigVerifier, err := fnote.NewVerifierForCosignatureV1(wvkey)
	if err != nil {
		t.Fatal(err)
	}
	fcp, _, fn, err := flog.ParseCheckpoint(cpNote, origin, verifier, cosigVerifier)
	if err != nil {
		t.Fatalf("formats' log.ParseCheckpoint of vouch's checkpoint: %v", err)
	}
	if fcp.Size != n || !bytes.Equal(fcp.Hash, root[:]) || len(fn.Sigs) != 2 {
		t.Fatalf("formats reads size %d, %d verified signatures", fcp.Size, len(fn.Sigs))
	}
	for _, sig := range fn.Sigs {
		if sig.Name != "witness.example/w1" {
			continue
		}
		if ts, err := fnote.CoSigV1Timestamp(sig); err != nil || time.Since(ts) > time.Hour || time.Since(ts) < -time.Minute {
			t.Fatalf("cosignature timestamp %v, %v", ts, err)
		}
	}

	// Every hash tile Go would make, byte for byte at the C2SP path.
	tiles := tlog.NewTiles(8, 0, n)
	for _, tile := range tiles {
		want, err := tlog.ReadTileData(tile, g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, c2spPath(tile)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("tile %s: %v (%d bytes, want %d)", c2spPath(tile), err, len(got), len(want))
		}
		if back, err := tlog.ParseTilePath(tile.Path()); err != nil || back != tile {
			t.Fatalf("x/mod's path %s does not parse back: %v", tile.Path(), err)
		}
	}
	// Nothing else under tile/ but entry bundles.
	count := 0
	filepath.Walk(filepath.Join(out, "tile"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.Contains(p, "/tile/entries/") {
			count++
		}
		return nil
	})
	if count != len(tiles) {
		t.Fatalf("vouch wrote %d hash tiles, Go expects %d", count, len(tiles))
	}

	// Entry bundles: each entry a big-endian uint16 length and its bytes.
	for first := 0; first < n; first += 256 {
		w := min(256, n-first)
		tile := tlog.Tile{H: 8, L: 0, N: int64(first / 256), W: w}
		path := "tile/entries/" + strings.TrimPrefix(c2spPath(tile), "tile/0/")
		b, err := os.ReadFile(filepath.Join(out, path))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < w; i++ {
			if len(b) < 2 {
				t.Fatalf("%s ends early", path)
			}
			l := int(binary.BigEndian.Uint16(b))
			if !bytes.Equal(b[2:2+l], leaves[first+i]) {
				t.Fatalf("%s entry %d differs", path, i)
			}
			b = b[2+l:]
		}
		if len(b) != 0 {
			t.Fatalf("%s has %d bytes more", path, len(b))
		}
	}

	// Proofs from vouch's tiles through Go's authenticating tile reader equal vouch's proof files,
	// and Go's CheckRecord accepts those.
	tr := &dirTiles{dir: out}
	tileReader := tlog.TileHashReader(tlog.Tree{N: n, Hash: root}, tr)
	for _, p := range inclusion {
		b, err := os.ReadFile(filepath.Join(out, "proof", fmt.Sprintf("%d-%d.tlog-proof", p[0], p[1])))
		if err != nil {
			t.Fatal(err)
		}
		pf := parseProofFile(t, b)
		pn, err := note.Open(pf.checkpoint, note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("proof %v: note.Open: %v", p, err)
		}
		pcp := parseCheckpoint(t, pn.Text)
		if pf.index != p[0] || pcp.size != p[1] || pcp.root != g.root(t, p[1]) {
			t.Fatalf("proof %v: index %d, checkpoint %+v", p, pf.index, pcp)
		}
		if err := tlog.CheckRecord(pf.proof, pcp.size, pcp.root, pf.index,
			tlog.RecordHash(leaves[pf.index])); err != nil {
			t.Fatalf("tlog.CheckRecord of vouch's proof %v: %v", p, err)
		}
		leafHash := rfc6962.DefaultHasher.HashLeaf(leaves[pf.index])
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(pf.index), uint64(pcp.size),
			leafHash, raw(pf.proof), pcp.root[:]); err != nil {
			t.Fatalf("merkle's proof.VerifyInclusion of vouch's proof %v: %v", p, err)
		}
		if p[1] == n {
			fromTiles, err := tlog.ProveRecord(n, p[0], tileReader)
			if err != nil {
				t.Fatalf("ProveRecord over vouch's tiles: %v", err)
			}
			if fmt.Sprint(fromTiles) != fmt.Sprint(pf.proof) {
				t.Fatalf("proof %v differs from Go's over vouch's tiles", p)
			}
		}
		if len(pf.proof) > 0 {
			pf.proof[0][0] ^= 1
			if tlog.CheckRecord(pf.proof, pcp.size, pcp.root, pf.index,
				tlog.RecordHash(leaves[pf.index])) == nil {
				t.Fatalf("a tampered proof %v passes", p)
			}
		}
	}
	if tr.saved == 0 {
		t.Fatal("Go's tile reader authenticated no tile")
	}
	for _, p := range consistency {
		if p[0] == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, "consistency", fmt.Sprintf("%d-%d", p[0], p[1])))
		if err != nil {
			t.Fatal(err)
		}
		var tp tlog.TreeProof
		for _, l := range strings.Fields(string(b)) {
			h, err := tlog.ParseHash(l)
			if err != nil {
				t.Fatal(err)
			}
			tp = append(tp, h)
		}
		oldRoot, newRoot := g.root(t, p[0]), g.root(t, p[1])
		if err := tlog.CheckTree(tp, p[1], newRoot, p[0], oldRoot); err != nil {
			t.Fatalf("tlog.CheckTree of vouch's consistency proof %v: %v", p, err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(p[0]), uint64(p[1]), raw(tp),
			oldRoot[:], newRoot[:]); err != nil {
			t.Fatalf("merkle's proof.VerifyConsistency of vouch's proof %v: %v", p, err)
		}
	}
	t.Logf("Go checked vouch's checkpoint, %d tiles, %d entry bundles, %d inclusion and %d "+
		"consistency proofs", len(tiles), (n+255)/256, len(inclusion), len(consistency))
}

func TestVouchVerifiesWhatGoWrites(t *testing.T) {
	const n = 1000
	leaves := makeLeaves(n)
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err := note.GenerateKey(rand.Reader, "witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	cosigner, err := fnote.NewSignerForCosignatureV1(wskey)
	if err != nil {
		t.Fatal(err)
	}
	witnessKey, err := fnote.VKeyToCosignatureV1(wvkey)
	if err != nil {
		t.Fatal(err)
	}
	g := buildGoTree(t, leaves)
	dir := t.TempDir()
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signed := func(size int64) []byte {
		text := fmt.Sprintf("%s\n%d\n%s\n", origin, size, g.root(t, size))
		msg, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	write("leaves", append(bytes.Join(leaves, []byte("\n")), '\n'))
	cosigned, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", origin, n, g.root(t, n))},
		signer, cosigner)
	if err != nil {
		t.Fatal(err)
	}
	write("checkpoint", cosigned)
	for _, tile := range tlog.NewTiles(8, 0, n) {
		data, err := tlog.ReadTileData(tile, g)
		if err != nil {
			t.Fatal(err)
		}
		write(c2spPath(tile), data)
	}
	for first := 0; first < n; first += 256 {
		w := min(256, n-first)
		var b []byte
		for _, l := range leaves[first : first+w] {
			b = binary.BigEndian.AppendUint16(b, uint16(len(l)))
			b = append(b, l...)
		}
		tile := tlog.Tile{H: 8, L: 0, N: int64(first / 256), W: w}
		write("tile/entries/"+strings.TrimPrefix(c2spPath(tile), "tile/0/"), b)
	}
	pairs := samplePairs(n, 100, 3)
	for _, p := range pairs {
		proof, err := tlog.ProveRecord(p[1], p[0], g)
		if err != nil {
			t.Fatal(err)
		}
		write(fmt.Sprintf("proof/%d-%d.tlog-proof", p[0], p[1]), formatProofFile(p[0], proof, signed(p[1])))
		if p[0] > 0 {
			tp, err := tlog.ProveTree(p[1], p[0], g)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for _, h := range tp {
				b.WriteString(h.String() + "\n")
			}
			write(fmt.Sprintf("consistency/%d-%d", p[0], p[1]), b.Bytes())
		}
	}
	out, stderr, code := runVouch(t, nil, "dev", "tlog", "verify", "--vkey", vkey, "--dir", dir,
		"--origin", origin, "--witness", witnessKey)
	if code != 0 || !strings.Contains(out, `"failures": 0`) || !strings.Contains(out, `"checkpoints": 1`) ||
		!strings.Contains(out, `"cosignatures": 1`) ||
		!strings.Contains(out, `"entry_bundles": 4`) {
		t.Fatalf("vouch dev tlog verify: exit %d\n%s%s", code, out, stderr)
	}
	t.Logf("vouch verified Go's: %s", strings.TrimSpace(out))

	// Tampering is caught: a proof hash changed, and a checkpoint signed by another key.
	p := pairs[1] // (0, n): a proof of many hashes
	name := fmt.Sprintf("proof/%d-%d.tlog-proof", p[0], p[1])
	b, _ := os.ReadFile(filepath.Join(dir, name))
	pf := parseProofFile(t, b)
	pf.proof[len(pf.proof)-1][3] ^= 0x40
	write(name, formatProofFile(pf.index, pf.proof, pf.checkpoint))
	otherSkey, _, _ := note.GenerateKey(rand.Reader, origin)
	other, _ := note.NewSigner(otherSkey)
	forged, _ := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", origin, n, g.root(t, n))}, other)
	write("checkpoint", forged)
	out, stderr, code = runVouch(t, nil, "dev", "tlog", "verify", "--vkey", vkey, "--dir", dir)
	if code != 1 || !strings.Contains(out, `"failures": 2`) ||
		!strings.Contains(stderr, "PERMISSION_DENIED") || !strings.Contains(stderr, "UNAUTHENTICATED") {
		t.Fatalf("tampered: exit %d\n%s%s", code, out, stderr)
	}
}
