// The `audit verify` modes that check the Merkle log from outside the server (a tlog-proof file;
// a live server's entries and tiles) and `audit prove` (audit_proof_commands.cc). Exit codes as
// session.h: 0 intact, 1 not intact (or refused), 2 usage, 3 unreachable.
#pragma once

#include <string>
#include <vector>

#include "vouch/cli/session.h"

namespace vouch::cli {

struct ProofFileArgs {
  std::string file;               // the tlog-proof file
  std::vector<std::string> keys;  // --key: verifier key texts, or files of them
  std::string event_file;         // --event: the event's stored bytes (else the file's extra)
};
// `audit verify FILE --key VKEY [--event EVENT]`: opens the proof's checkpoint with the given keys
// only, checks the event's inclusion at index seq - 1 and that the event carries that seq.
int VerifyProofFileCommand(const ProofFileArgs& a, Session& s);

struct ServerVerifyArgs {
  std::string server;             // --server of verify itself, never the global one
  std::vector<std::string> keys;  // --key: keys the user trusts
  std::string saved_checkpoint;   // --checkpoint: a signed checkpoint saved earlier
};
// `audit verify --server URL [--key VKEY] [--checkpoint SAVED]`: the server's log through the
// verification engine (audit/verify.h), as a store's or an export's; the report as
// PrintVerification's, then a line saying what the server's check covered.
int VerifyServerCommand(const ServerVerifyArgs& a, Session& s);

// `audit prove SEQ [--size N] --out FILE`.
struct ProveArgs {
  std::string seq;
  std::string size;
  std::string out;
};
int ProveCommand(const ProveArgs& a, Session& s);

}  // namespace vouch::cli
