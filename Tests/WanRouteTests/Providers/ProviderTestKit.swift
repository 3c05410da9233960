import Foundation
import XCTest
@testable import WanRoute

/// A simulator on loopback plus adapters pointed at it over real HTTP (URLSessionTransport).
final class ProviderTestKit {
    /// A key the simulator echoes in its error messages, so redaction is checked everywhere.
    static let key = "sk-test-SECRET-123"
    /// One transport for every test, as in production.
    static let transport = URLSessionTransport()
    /// The four wire formats, by the provider id their adapter speaks for.
    static let providers: [ProviderID] = [ProviderEndpoints.dashscopeIntl, ProviderEndpoints.modellix,
                                          ProviderEndpoints.aimlapi, ProviderEndpoints.apixo]

    let simulator: ProviderSimulator
    let baseURL: URL

    init(_ configuration: ProviderSimulator.Configuration = .init(apiKey: ProviderTestKit.key)) throws {
        simulator = ProviderSimulator(configuration: configuration)
        baseURL = try simulator.start()
    }

    func stop() { simulator.stop() }

    func adapter(_ provider: ProviderID, timeout: Double = 10) -> any ProviderAdapter {
        makeAdapter(for: provider, baseURL: baseURL, transport: Self.transport, requestTimeout: timeout, now: { Date() })!
    }

    /// A request each provider accepts; the video's `duration=` sets the simulated reference length.
    static func request(_ provider: ProviderID, duration: String = "7.5", behavior: Behavior = .animate) -> GenerationRequest {
        let dash = [ProviderEndpoints.dashscopeIntl, ProviderEndpoints.dashscopeCN, ProviderEndpoints.modellix].contains(provider)
        return GenerationRequest(behavior: behavior, mode: dash ? .wanStd : .standard, resolution: dash ? .p720 : .p480,
                                 imageURL: "https://media.test/person.png", videoURL: "https://media.test/dance.mp4?duration=\(duration)")
    }

    /// The simulator's name for a provider's wire format.
    static func family(_ provider: ProviderID) -> SimulatedProvider {
        switch provider.rawValue {
        case "modellix": return .modellix
        case "aimlapi": return .aimlapi
        case "apixo": return .apixo
        default: return .dashscope
        }
    }
}

/// The error a call throws, or nil; also checks that the test key appears nowhere in it.
func thrownError<T>(_ body: () async throws(ProviderError) -> T, file: StaticString = #filePath, line: UInt = #line) async -> ProviderError? {
    do {
        _ = try await body()
        return nil
    } catch {
        XCTAssertFalse("\(error)".contains(ProviderTestKit.key), "the key leaked: \(error)", file: file, line: line)
        XCTAssertFalse(String(reflecting: error).contains(ProviderTestKit.key), "the key leaked", file: file, line: line)
        return error
    }
}
