#include "views/json.h"


namespace smtp_exporter::exporter::json {

std::string dump(const Value& value) { return value.dump(-1, ' ', false, Value::error_handler_t::replace); }

}  // namespace smtp_exporter::exporter::json
