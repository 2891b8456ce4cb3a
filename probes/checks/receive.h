// End-to-end delivery (probes/checks/receive.cpp): the test message of [send]
// found in the mailbox of [receive] (IMAP or Maildir), timed from the 250 to
// DATA, its Authentication-Results read, and removed; leftovers of earlier
// runs older than the receive timeout removed and counted as late.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth_results.h"
#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

struct ReceiveSection {
  std::string mode;    // "imap" or "maildir"
  bool found = false;  // within the receive timeout
  std::string folder;  // "inbox", "junk", or "none"
  std::optional<double> roundtrip_seconds;
  std::vector<AuthResult> auth_results;  // of the configured authserv_id only
  int removed = 0;     // test messages deleted (this one and leftovers)
  int late = 0;        // leftovers of earlier runs, older than the timeout: arrived late
  int round_trips = 0;  // IMAP commands sent
  bool idle = false;    // IMAP IDLE was used (else polling)
};

const Check& receive_check();

}  // namespace smtp_exporter::probes
