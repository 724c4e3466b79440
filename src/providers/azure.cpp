// SPDX-License-Identifier: MIT
// The Azure OpenAI backend: the OpenAI chat completions body at a deployment's URL with an
// api-version, the key in "api-key" or an Entra ID token as a bearer.
#include "api.hpp"
#include "backends.hpp"

namespace promptops::inline providers {

namespace {

class AzureProvider final : public ApiProvider {
 public:
  AzureProvider(ProviderSpec spec, std::string key) : ApiProvider(std::move(spec), std::move(key)) {}

  // The deployment, the API version and the resource: what answers depend on besides the model.
  std::string identity() const override {
    return "azure:" + spec().base_url + "/openai/deployments/" + spec().deployment +
           "?api-version=" + spec().api_version;
  }

  HttpRequest chat_request(const ChatRequest& request) const override {
    const std::string& deployment = spec().deployment.empty() ? request.model : spec().deployment;
    std::string url = spec().base_url + "/openai/deployments/" + url_path_segment(deployment) +
                      "/chat/completions?api-version=" + url_path_segment(spec().api_version);
    return HttpRequest{std::move(url), auth_headers(), dump_json(openai_chat_body(request))};
  }

  ParsedAnswer parse_chat(const nlohmann::json& body) const override { return parse_openai_chat(body); }

 private:
  std::vector<std::string> auth_headers() const {
    if (spec().token_env.empty()) {
      return headers("api-key", "");
    }
    std::vector<std::string> out = configured_headers();
    out.push_back("Authorization: Bearer " + key());
    return out;
  }
};

}  // namespace

std::unique_ptr<Provider> make_azure_provider(ProviderSpec spec, std::string key) {
  return std::make_unique<AzureProvider>(std::move(spec), std::move(key));
}

}  // namespace promptops::inline providers
