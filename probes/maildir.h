// The Maildir side of the receive unit: the message files of a Maildir and
// its Junk folder (new/ and cur/), read for their X-Smtp-Exporter-Token and
// Authentication-Results fields, and an inotify watch integrated into Asio
// (posix::stream_descriptor) so that the loop waits without blocking.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace smtp_exporter::probes {

// One file that carries our header.
struct MaildirMessage {
  std::string path;
  std::string folder;  // "inbox" or "junk"
  std::string header;  // the header block (bounded)
};

// Every file under new/ and cur/ of `maildir` and of its ".Junk" folder that
// holds an X-Smtp-Exporter-Token field and is not in `skip`; the paths of
// the files read without one are added to `skip` (each is read once).
std::vector<MaildirMessage> maildir_messages(const std::string& maildir, std::set<std::string>& skip);

// An inotify watch on the new/ and cur/ directories of a Maildir and its
// Junk folder. wait() returns when a file arrives or `until` passes; without
// inotify (or a watch) it just waits until `until`.
class MaildirWatch {
 public:
  MaildirWatch(const boost::asio::any_io_executor& executor, const std::string& maildir);
  ~MaildirWatch();
  boost::asio::awaitable<void> wait(std::chrono::steady_clock::time_point until);
  bool watching() const { return watching_; }

 private:
  struct State;
  std::shared_ptr<State> state_;
  bool watching_ = false;
};

}  // namespace smtp_exporter::probes
