#include "core/host_name.h"

#include <netdb.h>
#include <unistd.h>

#include <climits>

namespace smtp_exporter::exporter {

std::string fqdn() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "";
  std::string name = buf;
  if (name.find('.') != std::string::npos) return name;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  addrinfo* info = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &info) == 0 && info) {
    std::string canonical = info->ai_canonname ? info->ai_canonname : "";
    freeaddrinfo(info);
    if (canonical.find('.') != std::string::npos) return canonical;
  }
  return "";
}

}  // namespace smtp_exporter::exporter
