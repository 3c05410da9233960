/// What attempts and jobs cost: known, zero where nothing can have billed, unknown otherwise.
extension Executor {
    /// An attempt with its cost filled in where its outcome decides it.
    func priced(_ attempt: Attempt, _ offer: Offer) -> Attempt {
        var a = attempt
        guard a.wasTried, a.actualCostSource == nil else { return a }
        let currency = offer.pricePerSecond?.currency ?? .usd
        switch a.outcome {
        case .submitFailed where a.taskID == nil, .stopped where a.taskID == nil:
            (a.actualCost, a.actualCostSource) = (.zero(currency), .noTask)
        case .taskFailed where catalog.providers[offer.providerIndex].billing.failedTasksFree == true:
            (a.actualCost, a.actualCostSource) = (.zero(currency), .failedTaskFree)
        default:
            break  // a task that may have billed and nobody says how much: unknown
        }
        return a
    }

    /// The job's cost across the attempts that were tried: unknown when any attempt's is, or when
    /// non-zero costs are in different currencies; the source is the last attempt's.
    func total(_ tried: [Attempt]) -> (Money?, JobReport.CostSource?) {
        guard let last = tried.last, tried.allSatisfy({ $0.actualCost != nil }) else { return (nil, nil) }
        let charged = tried.compactMap(\.actualCost).filter { $0.nanos != 0 }
        guard let first = charged.first else { return (last.actualCost, last.actualCostSource) }
        guard charged.allSatisfy({ $0.currency == first.currency }) else { return (nil, nil) }
        return (charged.dropFirst().reduce(first, +), last.actualCostSource)
    }

    /// What the provider billed: the money it reported, else its reported quantity priced by the
    /// offer, else the billing rule.
    func actualCost(_ order: JobOrder, _ candidate: RankedOffer, billed: BilledQuantity?) -> (Money?, JobReport.CostSource?) {
        if let cost = billed?.cost { return (cost, .providerReported) }
        if let seconds = billed?.seconds {
            var job = order.job
            job.duration = seconds
            job.video = nil
            job.image = nil
            return (catalog.estimate(offerAt: candidate.offerIndex, for: job).cost, .providerReported)
        }
        guard let cost = candidate.estimate.cost else { return (nil, nil) }
        return (cost, .billingRule)
    }
}
