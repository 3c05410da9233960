import Foundation

/// The errors the simulator can answer with, before they are spelled in a provider's shape.
enum SimulatedError: Error {
    case auth
    case invalid(String)
    case notFound(String)
    case syncNotSupported
    case rateLimited(retryAfter: Int?, epoch: Int64?)
    case server(Int)
    case outOfBalance
    case contentRefused
}

/// Where a status answer stands.
enum SimulatedPhase {
    case queued, running, finished
}

/// Each provider's spelling of answers: one function per kind of answer, switching on the
/// provider, so the four formats can be read side by side.
enum SimulatorWire {
    static func json(_ status: Int, _ value: JSONValue, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var h = headers
        h.fields.append(HTTPField("Content-Type", "application/json"))
        return HTTPResponse(status: status, headers: h, body: Array(JSONWriter.compact(value).utf8))
    }

    static func s(_ text: String) -> JSONValue { .string(text) }
    static func n(_ value: Int64) -> JSONValue { .number(String(value)) }
    static func obj(_ members: (String, JSONValue)...) -> JSONValue { .object(members.map { JSONMember($0.0, $0.1) }) }

    /// An error answer. `key` is echoed in messages when given, as some real APIs do, so the
    /// adapters' redaction is exercised.
    static func error(_ provider: SimulatedProvider, _ e: SimulatedError, key: String?, requestID: String) -> HTTPResponse {
        let echo = key.map { " (key \($0))" } ?? ""
        let status: Int
        let code: String
        let message: String
        var headers = HTTPHeaders()
        switch e {
        case .auth:
            status = 401; code = provider == .dashscope ? "InvalidApiKey" : "AuthenticationError"
            message = "Invalid API-key provided\(echo)."
        case .invalid(let m):
            status = 400; code = "InvalidParameter"; message = m
        case .notFound(let m):
            status = 404; code = "NotFound"; message = m
        case .syncNotSupported:
            status = 400; code = "AccessDenied"; message = "current user api does not support synchronous calls"
        case .rateLimited(let after, let epoch):
            status = 429; code = provider == .dashscope ? "Throttling.RateQuota" : "RateLimitError"
            message = "Requests rate limit exceeded, please try again later\(echo)."
            if provider == .modellix {
                if let value = after.map(Int64.init) ?? epoch { headers.fields.append(HTTPField("X-RateLimit-Reset", String(value))) }
            } else if let after {
                headers.fields.append(HTTPField("Retry-After", String(after)))
            }
        case .server(let st):
            status = st; code = "InternalError"; message = "The service is temporarily unavailable\(echo)."
        case .outOfBalance:
            switch provider {
            case .dashscope: status = 400; code = "Arrearage"; message = "Access denied, please make sure your account is in good standing."
            case .aimlapi: status = 403; code = "ForbiddenError"; message = "Insufficient credits: top up your balance to continue."
            case .modellix, .apixo: status = 402; code = "InsufficientBalance"; message = "Insufficient balance or quota."
            }
        case .contentRefused:
            switch provider {
            case .dashscope: status = 400; code = "DataInspectionFailed"; message = "Input data may contain inappropriate content."
            case .aimlapi: status = 400; code = "ContentPolicyViolation"; message = "The input was rejected by moderation."
            case .modellix: status = 400; code = "DataInspectionFailed"; message = "Content moderation failed: input may contain sensitive content."
            case .apixo: status = 403; code = "ContentRejected"; message = "The content was rejected by the content policy."
            }
        }
        switch provider {
        case .dashscope:
            return json(status, obj(("code", s(code)), ("message", s(message)), ("request_id", s(requestID))), headers: headers)
        case .aimlapi:
            return json(status, obj(("error", obj(("name", s(code)), ("message", s(message))))), headers: headers)
        case .modellix, .apixo:
            return json(status, obj(("code", n(Int64(status))), ("message", s(message)), ("data", .null)), headers: headers)
        }
    }

    /// The answer to an accepted submission.
    static func submitted(_ task: SimulatedTask, family: SimulatedProvider, baseURL: String, requestID: String) -> HTTPResponse {
        switch family {
        case .dashscope:
            return json(200, obj(("request_id", s(requestID)), ("output", obj(("task_id", s(task.id)), ("task_status", s("PENDING"))))))
        case .modellix:
            let model = task.behavior == .animate ? "wan2.2-animate-move" : "wan2.2-animate-mix"
            let getResult = obj(("method", s("GET")), ("url", s(baseURL + "/api/v1/tasks/" + task.id)))
            let data = obj(("status", s("pending")), ("task_id", s(task.id)), ("model_id", s(model)), ("get_result", getResult))
            return json(200, obj(("code", n(0)), ("message", s("success")), ("data", data)))
        case .aimlapi:
            return json(200, obj(("id", s(task.id)), ("status", s("queued"))))
        case .apixo:
            return json(200, obj(("code", n(200)), ("message", s("success")), ("data", obj(("taskId", s(task.id))))))
        }
    }

    /// The failure code and message a task ends with, per provider.
    static func failure(_ family: SimulatedProvider, _ outcome: SimulatedOutcome) -> (code: String, message: String) {
        if outcome == .refused {
            switch family {
            case .dashscope, .modellix: return ("DataInspectionFailed", "The output may contain inappropriate content.")
            case .aimlapi, .apixo: return ("ContentPolicyViolation", "Content policy rejection.")
            }
        }
        return ("InternalError", "The generation failed upstream.")
    }

    /// A status answer. `billing` is set once the task has finished.
    static func status(_ task: SimulatedTask, family: SimulatedProvider, phase: SimulatedPhase, billing: BillingRecord?,
                       resultURL: String, requestID: String) -> HTTPResponse {
        json(200, statusValue(task, family: family, phase: phase, billing: billing, resultURL: resultURL, requestID: requestID))
    }

    /// The JSON of a status answer (APIXO's callbacks post the same).
    static func statusValue(_ task: SimulatedTask, family: SimulatedProvider, phase: SimulatedPhase, billing: BillingRecord?,
                            resultURL: String, requestID: String) -> JSONValue {
        let ok = task.outcome == .success
        let (failCode, failMessage) = failure(family, task.outcome)
        switch family {
        case .dashscope:
            var output: [JSONMember] = [JSONMember("task_id", s(task.id))]
            switch phase {
            case .queued: output.append(JSONMember("task_status", s("PENDING")))
            case .running: output.append(JSONMember("task_status", s("RUNNING")))
            case .finished where ok:
                output.append(JSONMember("task_status", s("SUCCEEDED")))
                output.append(JSONMember("results", obj(("video_url", s(resultURL)))))
            case .finished:
                output += [JSONMember("task_status", s("FAILED")), JSONMember("code", s(failCode)), JSONMember("message", s(failMessage))]
            }
            var members = [JSONMember("request_id", s(requestID)), JSONMember("output", .object(output))]
            if phase == .finished, ok, let seconds = billing?.reported?.seconds {
                members.append(JSONMember("usage", obj(("video_duration", .number(seconds.decimalString)),
                                                       ("video_ratio", s(task.mode == .wanPro ? "pro" : "standard")))))
            }
            return .object(members)
        case .modellix:
            var data: [JSONMember] = [JSONMember("task_id", s(task.id))]
            switch phase {
            case .queued: data.append(JSONMember("status", s("pending")))
            case .running: data.append(JSONMember("status", s("processing")))
            case .finished where ok:
                data.append(JSONMember("status", s("success")))
                data.append(JSONMember("result", obj(("resources", .array([obj(("url", s(resultURL)), ("type", s("video")))])))))
            case .finished:
                data.append(JSONMember("status", s("failed")))
                data.append(JSONMember("error", obj(("code", s(failCode)), ("message", s(failMessage)))))
            }
            return obj(("code", n(0)), ("message", s("success")), ("data", .object(data)))
        case .aimlapi:
            var members: [JSONMember] = [JSONMember("id", s(task.id))]
            switch phase {
            case .queued: members.append(JSONMember("status", s("queued")))
            case .running: members.append(JSONMember("status", s("generating")))
            case .finished where ok:
                members.append(JSONMember("status", s("completed")))
                members.append(JSONMember("video", obj(("url", s(resultURL)))))
                if let credits = billing?.reported?.credits {
                    members.append(JSONMember("meta", obj(("usage", obj(("credits_used", .number(credits)))))))
                }
            case .finished:
                members.append(JSONMember("status", s("error")))
                members.append(JSONMember("error", obj(("name", s(failCode)), ("message", s(failMessage)))))
            }
            return .object(members)
        case .apixo:
            var data: [JSONMember] = [JSONMember("taskId", s(task.id))]
            let created: Int64 = 1_767_965_610_929
            switch phase {
            case .queued: data.append(JSONMember("state", s("pending")))
            case .running: data.append(JSONMember("state", s("processing")))
            case .finished where ok:
                let result = JSONWriter.compact(obj(("resultUrls", .array([s(resultURL)]))))
                data += [JSONMember("state", s("success")), JSONMember("resultJson", s(result))]
            case .finished:
                data += [JSONMember("state", s("failed")), JSONMember("failCode", s(failCode)), JSONMember("failMsg", s(failMessage))]
            }
            data.append(JSONMember("createTime", n(created)))
            if phase == .finished {
                data.append(JSONMember("completeTime", n(created + 161_388)))
                if ok { data.append(JSONMember("costTime", n(161_388))) }
            }
            return obj(("code", n(200)), ("message", s("success")), ("data", .object(data)))
        }
    }

    /// A body that is not JSON, and one cut halfway, for the garbled-answer faults.
    static let malformed = Array("<html><body>upstream error</body></html>".utf8)
    static let truncated = Array(#"{"code": 200, "message": "success", "data": {"taskId": "#.utf8)
}
