// checkcosigned reads a cosigned checkpoint on standard input (what vouch serves at
// /api/v1/audit/log/checkpoint) and checks it with transparency-dev/formats, as a witness's
// consumer would: log.ParseCheckpoint with the log's verifier key for the origin, and a
// cosignature/v1 signature by the witness key (formats' note.NewVerifierForCosignatureV1).
// Prints the tree size and the witness's timestamp; exits 1 when anything does not verify.
//
//	checkcosigned -origin ORIGIN -log-key VKEY -witness-key VKEY < checkpoint
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	origin := flag.String("origin", "", "the log's origin")
	logKey := flag.String("log-key", "", "the log's verifier key")
	witnessKey := flag.String("witness-key", "", "the witness's cosignature/v1 verifier key")
	flag.Parse()
	if err := run(*origin, *logKey, *witnessKey); err != nil {
		fmt.Fprintln(os.Stderr, "checkcosigned:", err)
		os.Exit(1)
	}
}

func run(origin, logKey, witnessKey string) error {
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	logV, err := note.NewVerifier(logKey)
	if err != nil {
		return fmt.Errorf("log key: %v", err)
	}
	witnessV, err := fnote.NewVerifierForCosignatureV1(witnessKey)
	if err != nil {
		return fmt.Errorf("witness key: %v", err)
	}
	cp, _, n, err := log.ParseCheckpoint(raw, origin, logV, witnessV)
	if err != nil {
		return fmt.Errorf("log.ParseCheckpoint: %v", err)
	}
	for _, s := range n.Sigs {
		if s.Name == witnessV.Name() && s.Hash == witnessV.KeyHash() {
			t, err := fnote.CoSigV1Timestamp(s)
			if err != nil {
				return err
			}
			fmt.Printf("size %d cosigned by %s at %d\n", cp.Size, s.Name, t.Unix())
			return nil
		}
	}
	return fmt.Errorf("no verified cosignature by %s among %d signatures", witnessV.Name(), len(n.Sigs))
}
