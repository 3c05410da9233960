import Foundation
import XCTest
@testable import WanRoute

/// The transport, base URL overrides, the APIXO callback receiver and the simulator's own checks.
final class ProviderPlumbingTests: XCTestCase {
    let key = ProviderTestKit.key

    // MARK: Transport

    func testConnectionRefusedIsNotSentAndAdaptersRetryLater() async throws {
        // Bind a port, then stop the server so nothing listens there.
        let server = try LoopbackHTTPServer { _ in .text(200, "") }
        let url = URL(string: server.baseURL)!
        server.stop()
        do {
            _ = try await ProviderTestKit.transport.send(TransportRequest(method: "GET", url: url, timeout: 2))
            XCTFail("a closed port answered")
        } catch {
            guard case .notSent = error else { return XCTFail("\(error)") }
        }
        let adapter = makeAdapter(for: ProviderEndpoints.apixo, baseURL: url, transport: ProviderTestKit.transport, requestTimeout: 2, now: { Date() })!
        let e = await thrownError { () async throws(ProviderError) in try await adapter.submit(ProviderTestKit.request(ProviderEndpoints.apixo), apiKey: self.key) }
        XCTAssertEqual(e?.failureClass, .providerError)
    }

    func testWholeBodyHeadersAndBoundedSize() async throws {
        let server = try LoopbackHTTPServer { request in
            if request.path == "/big" { return HTTPResponse(status: 200, body: [UInt8](repeating: 65, count: 5000)) }
            return HTTPResponse(status: 201, headers: ["Retry-After": "7"], body: request.body)
        }
        defer { server.stop() }
        let transport = URLSessionTransport(maximumBodyBytes: 4096)
        let echo = try await transport.send(TransportRequest(method: "POST", url: URL(string: server.baseURL + "/echo")!, body: Array("hello".utf8)))
        XCTAssertEqual(echo.status, 201)
        XCTAssertEqual(echo.body, Array("hello".utf8))
        XCTAssertEqual(echo.headers["retry-after"], "7")
        do {
            _ = try await transport.send(TransportRequest(method: "GET", url: URL(string: server.baseURL + "/big")!))
            XCTFail("an oversized answer was accepted")
        } catch {
            guard case .noAnswer = error else { return XCTFail("\(error)") }
        }
    }

    func testAnAnswerCutShortIsNoAnswer() async throws {
        let server = try LoopbackHTTPServer { _ in
            HTTPResponse(status: 200, headers: ["Content-Length": "100"]) { writer in writer.write(Array("{\"id\":".utf8)) }
        }
        defer { server.stop() }
        do {
            _ = try await ProviderTestKit.transport.send(TransportRequest(method: "GET", url: URL(string: server.baseURL)!, timeout: 5))
            XCTFail("a truncated answer was accepted")
        } catch {
            guard case .noAnswer = error else { return XCTFail("\(error)") }
        }
    }

    // MARK: Base URLs

    func testBaseURLOverridesFromTheEnvironment() throws {
        let env = ["WANROUTE_DASHSCOPE_INTL_BASE_URL": "http://127.0.0.1:8080/prefix/",
                   "WANROUTE_APIXO_BASE_URL": "ftp://example.test",
                   "WANROUTE_MODELLIX_BASE_URL": "https://user:sk-test-SECRET-123@example.test",
                   "WANROUTE_AIMLAPI_BASE_URL": "https://example.test/?x=1"]
        XCTAssertEqual(ProviderEndpoints.environmentVariable(for: ProviderEndpoints.dashscopeIntl), "WANROUTE_DASHSCOPE_INTL_BASE_URL")
        XCTAssertEqual(try ProviderEndpoints.baseURL(for: ProviderEndpoints.dashscopeIntl, environment: env)?.absoluteString, "http://127.0.0.1:8080/prefix")
        XCTAssertEqual(try ProviderEndpoints.baseURL(for: ProviderEndpoints.dashscopeCN, environment: env)?.absoluteString, "https://dashscope.aliyuncs.com")
        XCTAssertNil(try ProviderEndpoints.baseURL(for: ProviderID("fal")!, environment: env))
        XCTAssertThrowsError(try ProviderEndpoints.baseURL(for: ProviderEndpoints.apixo, environment: env)) { error in
            XCTAssertTrue("\(error)".contains("WANROUTE_APIXO_BASE_URL") && "\(error)".contains("only http and https"), "\(error)")
        }
        XCTAssertThrowsError(try ProviderEndpoints.baseURL(for: ProviderEndpoints.modellix, environment: env)) { error in
            XCTAssertFalse("\(error)".contains(self.key), "\(error)")
        }
        XCTAssertThrowsError(try ProviderEndpoints.baseURL(for: ProviderEndpoints.aimlapi, environment: env))
        XCTAssertThrowsError(try ProviderEndpoints.validate("not a url", variable: "X"))
    }

    func testAPathPrefixIsKeptInFrontOfTheDocumentedPaths() async throws {
        let seen = Locked<[String]>([])
        let server = try LoopbackHTTPServer { request in
            seen.update { $0.append("\(request.method) \(request.path)?\(request.query ?? "")") }
            return .text(503, "down")
        }
        defer { server.stop() }
        let base = try ProviderEndpoints.validate(server.baseURL + "/gw/", variable: "X")
        let adapter = makeAdapter(for: ProviderEndpoints.apixo, baseURL: base, transport: ProviderTestKit.transport, now: { Date() })!
        _ = await thrownError { () async throws(ProviderError) in try await adapter.status(taskID: "a b&c", apiKey: self.key) }
        XCTAssertEqual(seen.value, ["GET /gw/api/v1/statusTask/wan-2-2-animate?taskId=a%20b%26c"])
        XCTAssertNil(makeAdapter(for: ProviderID("runware")!, baseURL: base, transport: ProviderTestKit.transport, now: { Date() }))
    }

    // MARK: APIXO callbacks

    func testAForgedCallbackIsAnsweredButNotTrusted() async throws {
        let kit = try ProviderTestKit()
        defer { kit.stop() }
        let receiver = try APIXOCallbackReceiver()
        defer { receiver.stop() }
        let adapter = kit.adapter(ProviderEndpoints.apixo)
        var request = ProviderTestKit.request(ProviderEndpoints.apixo)
        request.callbackURL = receiver.url
        let id = try await adapter.submit(request, apiKey: key)
        XCTAssertEqual(kit.simulator.task(id)?.callbackURL, receiver.url)
        _ = try await adapter.status(taskID: id, apiKey: key)  // queued; the next poll says running

        // Anyone can post to the receiver: claim success for a task that is still running.
        let forged = #"{"code":200,"message":"success","data":{"taskId":"\#(id)","state":"success","resultJson":"{\"resultUrls\":[\"https://evil.test/x.mp4\"]}"}}"#
        let answer = try await ProviderTestKit.transport.send(TransportRequest(method: "POST", url: URL(string: receiver.url)!,
                                                                               headers: ["Content-Type": "application/json"], body: Array(forged.utf8)))
        XCTAssertEqual(answer.status, 200)
        var iterator = receiver.callbacks.makeAsyncIterator()
        let next = await iterator.next()
        let callback = try XCTUnwrap(next)
        XCTAssertEqual(callback.taskID, id)
        XCTAssertEqual(callback.claimedState, .succeeded(resultURL: "https://evil.test/x.mp4", billed: nil))
        let confirmed = try await receiver.confirm(callback, adapter: adapter, apiKey: key)
        XCTAssertEqual(confirmed, .running)

        // The genuine callback, once the simulator finishes the task, is confirmed by the poll.
        let delivered = await kit.simulator.deliverCallback(taskID: id, transport: ProviderTestKit.transport)
        XCTAssertEqual(delivered, 200)
        let genuine = await iterator.next()
        let real = try XCTUnwrap(genuine)
        let expected = TaskState.succeeded(resultURL: "https://results.simulator.invalid/apixo/\(id).mp4", billed: nil)
        XCTAssertEqual(real.claimedState, expected)
        let confirmedNow = try await receiver.confirm(real, adapter: adapter, apiKey: key)
        XCTAssertEqual(confirmedNow, expected)

        let bad = try await ProviderTestKit.transport.send(TransportRequest(method: "POST", url: URL(string: receiver.url)!, body: Array("{}".utf8)))
        XCTAssertEqual(bad.status, 400)
    }

    // MARK: Simulator input checks

    /// Posts raw JSON to the simulator and returns status and body text.
    func post(_ kit: ProviderTestKit, _ path: String, _ body: String, headers: HTTPHeaders = [:]) async throws -> (Int, String) {
        var h: HTTPHeaders = ["Authorization": "Bearer \(key)", "Content-Type": "application/json"]
        h.fields += headers.fields
        let r = try await ProviderTestKit.transport.send(TransportRequest(method: "POST", url: URL(string: kit.baseURL.absoluteString + path)!, headers: h, body: Array(body.utf8)))
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    func testSimulatorValidatesEachProvidersInputs() async throws {
        let kit = try ProviderTestKit()
        defer { kit.stop() }
        let ds = "/api/v1/services/aigc/image2video/video-synthesis"
        let good = #"{"model":"wan2.2-animate-move","input":{"image_url":"https://a.test/i.png","video_url":"https://a.test/v.mp4"},"parameters":{"mode":"wan-std"}}"#
        var (status, body) = try await post(kit, ds, good)
        XCTAssertEqual(status, 400)
        XCTAssertTrue(body.contains("current user api does not support synchronous calls"), body)
        let async: HTTPHeaders = ["X-DashScope-Async": "enable"]
        (status, _) = try await post(kit, ds, good, headers: async)
        XCTAssertEqual(status, 200)
        for bad in [good.replacingOccurrences(of: "animate-move", with: "animate-dance"),
                    good.replacingOccurrences(of: "wan-std", with: "wan-max"),
                    good.replacingOccurrences(of: "https://a.test/v.mp4", with: "ftp://a.test/v.mp4")] {
            (status, body) = try await post(kit, ds, bad, headers: async)
            XCTAssertEqual(status, 400, bad)
            XCTAssertTrue(body.contains("InvalidParameter"), body)
        }
        (status, _) = try await post(kit, "/api/v1/alibaba/wan2.2-animate-mix/async", #"{"image_url":"https://a.test/i.png","video_url":"https://a.test/v.mp4","mode":"wan-pro"}"#)
        XCTAssertEqual(status, 200)
        (status, _) = try await post(kit, "/api/v1/alibaba/wan2.2-animate-mix/async", #"{"image_url":"https://a.test/i.png","video_url":"https://a.test/v.mp4","mode":"pro"}"#)
        XCTAssertEqual(status, 400)
        (status, body) = try await post(kit, "/v2/video/generations", #"{"model":"alibaba/wan2.2-14b-animate-move","image_url":"https://a.test/i.png","video_url":"https://a.test/v.mp4","resolution":"1080p"}"#)
        XCTAssertEqual(status, 400)
        XCTAssertTrue(body.contains("\"error\""), body)

        let apixo = "/api/v1/generateTask/wan-2-2-animate"
        let ok = #"{"request_type":"async","input":{"mode":"standard","type":"replace","image_urls":["https://a.test/i.png"],"video_urls":["https://a.test/v.mp4"],"resolution":"720p","seed":42}}"#
        (status, _) = try await post(kit, apixo, ok)
        XCTAssertEqual(status, 200)
        let wrong = [ok.replacingOccurrences(of: "\"seed\":42", with: "\"seed\":-2"),
                     ok.replacingOccurrences(of: "\"seed\":42", with: "\"seed\":2147483648"),
                     ok.replacingOccurrences(of: "720p", with: "580p"),
                     ok.replacingOccurrences(of: #"["https://a.test/i.png"]"#, with: #"["https://a.test/i.png","https://a.test/j.png"]"#),
                     ok.replacingOccurrences(of: "\"standard\"", with: "\"pro\""),
                     ok.replacingOccurrences(of: "\"async\"", with: "\"callback\"")]
        for bad in wrong {
            (status, body) = try await post(kit, apixo, bad)
            XCTAssertEqual(status, 400, bad)
            XCTAssertTrue(body.contains("\"code\":400"), body)
        }
        XCTAssertEqual(kit.simulator.tasks.count, 3)
        XCTAssertEqual(ProviderSimulator.duration(of: "https://a.test/v.mp4?x=1&duration=12.25"), Seconds(decimal: "12.25"))
        XCTAssertEqual(ProviderSimulator.duration(of: "https://a.test/v.mp4"), Seconds(whole: 5))
    }
}

/// A value shared with a server handler thread.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func update(_ change: (inout T) -> Void) { lock.withLock { change(&stored) } }
}
