import Foundation

extension QSPPMetrics {
    /// A webhook arrived, `lag` after its change was recorded.
    public func webhookDelivered(_ lag: TimeInterval) {
        labelled(
            webhookOutcomes, "qspp_webhook_deliveries", "Webhook delivery attempts by outcome", ("outcome", "delivered")
        )
        .increment()
        webhookLag.record(Duration.milliseconds(Int64(max(0, lag) * 1000)))
    }

    /// An attempt failed; `dead` when it was the last one.
    public func webhookFailed(dead: Bool) {
        labelled(
            webhookOutcomes, "qspp_webhook_deliveries", "Webhook delivery attempts by outcome",
            ("outcome", dead ? "dead" : "failed")
        ).increment()
    }
}
