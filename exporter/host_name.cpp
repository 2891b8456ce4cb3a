#include "host_name.h"

#include <netdb.h>
#include <unistd.h>

#include <climits>

namespace smtp_exporter::exporter {

std::string fqdn() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name = buf;
  if (name.find('.') != std::string::npos) return name;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  addrinfo* info = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &info) == 0 && info) {
    if (info->ai_canonname && std::string(info->ai_canonname).find('.') != std::string::npos)
      name = info->ai_canonname;
    freeaddrinfo(info);
  }
  return name;
}

}  // namespace smtp_exporter::exporter
