// The Maildir side of the receive unit (maildir.h).
#include "maildir.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>

#include "test_message.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
constexpr std::size_t kMaxHeader = 64 * 1024;  // a header block read at most

// The header block of a message file (up to the first empty line, bounded).
std::string read_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string header;
  std::string line;
  while (header.size() < kMaxHeader && std::getline(in, line)) {
    if (line.empty() || line == "\r") break;
    header += line;
    header += '\n';
  }
  return header;
}

}  // namespace

std::vector<MaildirMessage> maildir_messages(const std::string& maildir, std::set<std::string>& skip) {
  std::vector<MaildirMessage> out;
  for (const auto& [folder, dir] : {std::pair<std::string, fs::path>{"inbox", fs::path(maildir)},
                                    {"junk", fs::path(maildir) / ".Junk"}}) {
    for (const char* sub : {"new", "cur"}) {
      std::error_code ec;
      for (fs::directory_iterator it(dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
        std::string path = it->path().string();
        if (skip.contains(path) || !it->is_regular_file(ec)) continue;
        std::string header = read_header(path);
        if (token_header_in(header).empty()) {
          skip.insert(path);
          continue;
        }
        out.push_back({path, folder, std::move(header)});
      }
    }
  }
  return out;
}

struct MaildirWatch::State {
  explicit State(const asio::any_io_executor& ex) : descriptor(ex), timer(ex) {}
  asio::posix::stream_descriptor descriptor;
  asio::steady_timer timer;
};

MaildirWatch::MaildirWatch(const asio::any_io_executor& executor, const std::string& maildir)
    : state_(std::make_shared<State>(executor)) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return;
  state_->descriptor.assign(fd);
  for (const fs::path& dir : {fs::path(maildir), fs::path(maildir) / ".Junk"})
    for (const char* sub : {"new", "cur"}) {
      std::string path = (dir / sub).string();
      if (inotify_add_watch(fd, path.c_str(), IN_CREATE | IN_MOVED_TO) >= 0) watching_ = true;
    }
}

MaildirWatch::~MaildirWatch() {
  boost::system::error_code ignored;
  state_->timer.cancel();
  state_->descriptor.close(ignored);
}

asio::awaitable<void> MaildirWatch::wait(std::chrono::steady_clock::time_point until) {
  boost::system::error_code ec;
  if (!watching_) {
    state_->timer.expires_at(until);
    co_await state_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  // The timer cancels the wait on the descriptor when `until` passes.
  state_->timer.expires_at(until);
  state_->timer.async_wait([weak = std::weak_ptr<State>(state_)](const boost::system::error_code& e) {
    auto state = weak.lock();
    if (e || !state) return;
    boost::system::error_code ignored;
    state->descriptor.cancel(ignored);
  });
  co_await state_->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                         asio::redirect_error(asio::use_awaitable, ec));
  state_->timer.cancel();
  if (ec) co_return;
  // Drain the events: which file arrived does not matter, the caller rescans.
  alignas(inotify_event) char events[4096];
  while (::read(state_->descriptor.native_handle(), events, sizeof events) > 0) {
  }
}

}  // namespace smtp_exporter::probes
