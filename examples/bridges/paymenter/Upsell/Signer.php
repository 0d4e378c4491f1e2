<?php

declare(strict_types=1);

namespace Paymenter\Extensions\Others\Upsell;

use InvalidArgumentException;
use RuntimeException;

/**
 * What the upsell daemon checks, in plain PHP: the signed "invoice paid"
 * webhook and the signed client link.
 *
 * This file uses no Laravel or Paymenter class and does nothing when it is
 * included, so bin/upsell-sign.php can load it under php-cli on its own.
 * Only PHP core functions are used (hash, json, http stream wrapper): no
 * curl.
 *
 * Webhook: POST {"event":"invoice.paid","invoice_id":N} with
 *   X-Upsell-Timestamp: <unix seconds>
 *   X-Upsell-Signature: hex(HMAC-SHA256(webhook secret, "<timestamp>.<body>"))
 * The daemon accepts a timestamp up to 5 minutes from its own clock.
 *
 * Client link token: v2.<user_id>.<service_id>.<issued_unix>.<expires_unix>.<mac>
 * where mac = base64url, unpadded, of HMAC-SHA256(link secret,
 * "v2.<user_id>.<service_id>.<issued_unix>.<expires_unix>"). The numbers are
 * plain decimals (no sign, no leading zero): the daemon accepts no other
 * spelling. It also refuses a link living longer than its
 * security.link_ttl, issued more than a minute in its future, or issued
 * before the user's links were revoked.
 */
final class Signer
{
    public const EVENT_INVOICE_PAID = 'invoice.paid';
    public const HEADER_TIMESTAMP = 'X-Upsell-Timestamp';
    public const HEADER_SIGNATURE = 'X-Upsell-Signature';
    public const LINK_VERSION = 'v2';
    /** Seconds to wait for the daemon: the panel's payment flow waits too. */
    public const DEFAULT_TIMEOUT = 3.0;
    /** Where the client page lives under the daemon's public URL. */
    public const CLIENT_PATH = '/m/microupsell/packages';

    /** The webhook body for a paid invoice. */
    public static function invoicePaidBody(int $invoiceId): string
    {
        self::positive('invoice id', $invoiceId);

        return (string) json_encode(
            ['event' => self::EVENT_INVOICE_PAID, 'invoice_id' => $invoiceId],
            JSON_UNESCAPED_SLASHES
        );
    }

    /** Hex HMAC-SHA256 of "<timestamp>.<body>". */
    public static function signature(string $secret, string $timestamp, string $body): string
    {
        self::secret('webhook', $secret);

        return hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    }

    /**
     * The headers that authenticate body, as name => value.
     *
     * @return array<string, string>
     */
    public static function webhookHeaders(string $secret, string $body, ?int $now = null): array
    {
        $timestamp = (string) ($now ?? time());

        return [
            'Content-Type' => 'application/json',
            self::HEADER_TIMESTAMP => $timestamp,
            self::HEADER_SIGNATURE => self::signature($secret, $timestamp, $body),
        ];
    }

    /**
     * Signs and POSTs the "invoice paid" webhook; returns the HTTP status.
     * Throws when no answer came (connection refused, timeout). One attempt
     * only: the daemon's poller finds whatever a lost webhook missed.
     */
    public static function sendInvoicePaid(string $url, string $secret, int $invoiceId, float $timeout = self::DEFAULT_TIMEOUT): int
    {
        $body = self::invoicePaidBody($invoiceId);

        return self::post($url, $body, self::webhookHeaders($secret, $body), $timeout);
    }

    /**
     * POSTs body with headers to an http(s) URL and returns the status of
     * the answer, whatever it is. Throws RuntimeException when there is no
     * answer.
     *
     * @param array<string, string> $headers
     */
    public static function post(string $url, string $body, array $headers, float $timeout = self::DEFAULT_TIMEOUT): int
    {
        // Only http(s): a mistyped setting must not make the stream layer
        // read a local file or another wrapper.
        if (!preg_match('#^https?://[^\s/]+#i', $url)) {
            throw new InvalidArgumentException('upsell webhook URL must be http(s): ' . $url);
        }
        $lines = [];
        foreach ($headers as $name => $value) {
            $lines[] = $name . ': ' . $value;
        }
        $lines[] = 'Content-Length: ' . strlen($body);
        $lines[] = 'Connection: close';
        $context = stream_context_create([
            'http' => [
                'method' => 'POST',
                'header' => implode("\r\n", $lines),
                'content' => $body,
                'timeout' => $timeout,
                // Return the body of 4xx/5xx answers instead of failing,
                // so the status can be read.
                'ignore_errors' => true,
                'follow_location' => 0,
                'protocol_version' => 1.1,
                'user_agent' => 'upsell-bridge/1',
            ],
        ]);
        error_clear_last();
        $http_response_header = null;
        $answer = @file_get_contents($url, false, $context);
        $status = self::status(is_array($http_response_header) ? $http_response_header : []);
        if ($answer === false || $status === 0) {
            $err = error_get_last();
            throw new RuntimeException('upsell webhook: no answer from ' . $url . ($err ? ': ' . $err['message'] : ''));
        }

        return $status;
    }

    /**
     * The link token for one user's service, issued at issued and valid
     * until expires (unix seconds).
     */
    public static function linkToken(string $secret, int $userId, int $serviceId, int $issued, int $expires): string
    {
        self::secret('link', $secret);
        self::positive('user id', $userId);
        self::positive('service id', $serviceId);
        self::positive('issue time', $issued);
        self::positive('lifetime', $expires - $issued);
        $payload = self::LINK_VERSION . '.' . $userId . '.' . $serviceId . '.' . $issued . '.' . $expires;
        $mac = rtrim(strtr(base64_encode(hash_hmac('sha256', $payload, $secret, true)), '+/', '-_'), '=');

        return $payload . '.' . $mac;
    }

    /** The client's "Upgrade resources" URL on the daemon's public URL. */
    public static function clientUrl(string $publicUrl, string $token): string
    {
        return rtrim($publicUrl, '/') . self::CLIENT_PATH . '?link=' . rawurlencode($token);
    }

    /**
     * The status of the last response among the stream's header lines.
     *
     * @param list<string> $headerLines
     */
    private static function status(array $headerLines): int
    {
        $status = 0;
        foreach ($headerLines as $line) {
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
                $status = (int) $m[1];
            }
        }

        return $status;
    }

    private static function secret(string $what, string $secret): void
    {
        if ($secret === '') {
            throw new InvalidArgumentException("upsell $what secret is not set");
        }
    }

    private static function positive(string $what, int $n): void
    {
        if ($n <= 0) {
            throw new InvalidArgumentException("upsell $what must be positive, got $n");
        }
    }
}
