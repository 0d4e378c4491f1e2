<?php

declare(strict_types=1);

namespace Paymenter\Extensions\Others\Upsell;

use InvalidArgumentException;
use RuntimeException;

/**
 * What the upsell daemon checks, in plain PHP: the signed "invoice paid"
 * webhook, the signed client link and the signed admin link.
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
 * where service_id is the linked service, or 0 for a user link (it opens
 * only the daemon's user pages, such as the checkout of a new order), and mac = base64url, unpadded, of HMAC-SHA256(link secret,
 * "v2.<user_id>.<service_id>.<issued_unix>.<expires_unix>"). The numbers are
 * plain decimals (no sign, no leading zero): the daemon accepts no other
 * spelling. It also refuses a link living longer than its
 * security.link_ttl, issued more than a minute in its future, or issued
 * before the user's links were revoked.
 *
 * Admin link token (the panel's admins into the daemon's console):
 * al1.<admin_id>.<issued_unix>.<expires_unix>.<mac>, where admin_id is the
 * panel admin's user id (never 0), the lifetime is at most 5 minutes, and
 * mac = base64url, unpadded, of HMAC-SHA256(key, "al1.<admin_id>.<issued_unix>.<expires_unix>")
 * with key = the raw 32 bytes of HMAC-SHA256(link secret, "upsell admin link v1").
 * The derived key keeps an admin link from ever verifying as a client link
 * or the reverse, though both come from the one link secret.
 */
final class Signer
{
    public const EVENT_INVOICE_PAID = 'invoice.paid';
    public const HEADER_TIMESTAMP = 'X-Upsell-Timestamp';
    public const HEADER_SIGNATURE = 'X-Upsell-Signature';
    public const LINK_VERSION = 'v2';
    /** Seconds to wait for the daemon: the panel's payment flow waits too. */
    public const DEFAULT_TIMEOUT = 3.0;
    /**
     * The add-on packages of a service as JSON, under the daemon's public
     * URL (the API the client pages call; scripts may link to it too).
     */
    public const CLIENT_PATH = '/m/microupsell/packages';
    /** The daemon's add-on shop page for one service (a service link). */
    public const SHOP_PATH = '/m/microupsell/shop';
    /** The daemon's "change options" page for one service (a service link). */
    public const CHANGE_PATH = '/m/configoptions/change';
    /**
     * The daemon's checkout page for a new order (a user link); its query
     * carries the client's selection.
     */
    public const CHECKOUT_PATH = '/m/configoptions/checkout';
    /** The longest checkout path and query a panel passes on. */
    public const MAX_NEXT_LENGTH = 2048;
    public const ADMIN_LINK_VERSION = 'al1';
    /** What the admin link key is derived for, under the link secret. */
    public const ADMIN_LINK_CONTEXT = 'upsell admin link v1';
    /** The longest an admin link may live, in seconds: the daemon's limit. */
    public const MAX_ADMIN_LINK_TTL = 300;
    /** An admin link's lifetime unless told otherwise, in seconds. */
    public const DEFAULT_ADMIN_LINK_TTL = 120;
    /**
     * The daemon's console, under its public URL: opened with ?link=<admin
     * link>, it trades the link for its admin session cookie.
     */
    public const CONSOLE_PATH = '/console/';

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
        self::positive('service id', $serviceId);

        return self::token($secret, $userId, $serviceId, $issued, $expires);
    }

    /**
     * The link token for a user alone (service id 0): it opens the daemon's
     * user pages (the checkout of a new order) and no service's.
     */
    public static function userLinkToken(string $secret, int $userId, int $issued, int $expires): string
    {
        return self::token($secret, $userId, 0, $issued, $expires);
    }

    /** The JSON add-on packages URL of a service link (CLIENT_PATH). */
    public static function clientUrl(string $publicUrl, string $token): string
    {
        return self::pageUrl($publicUrl, self::CLIENT_PATH, $token);
    }

    /**
     * The raw 32-byte key admin links are signed with: HMAC-SHA256 of
     * ADMIN_LINK_CONTEXT under the link secret.
     */
    public static function adminLinkKey(string $linkSecret): string
    {
        self::secret('link', $linkSecret);

        return hash_hmac('sha256', self::ADMIN_LINK_CONTEXT, $linkSecret, true);
    }

    /**
     * The admin link token for the panel admin adminId (their user id),
     * issued at issued and valid until expires (unix seconds), at most
     * MAX_ADMIN_LINK_TTL seconds later. It opens the daemon's console as
     * that admin, so sign one only for an admin allowed there, at the click.
     */
    public static function adminLinkToken(string $linkSecret, int $adminId, int $issued, int $expires): string
    {
        $key = self::adminLinkKey($linkSecret);
        self::positive('admin id', $adminId);
        self::positive('issue time', $issued);
        self::positive('admin link lifetime', $expires - $issued);
        if ($expires - $issued > self::MAX_ADMIN_LINK_TTL) {
            throw new InvalidArgumentException('upsell admin link lifetime must be at most ' . self::MAX_ADMIN_LINK_TTL . ' seconds, got ' . ($expires - $issued));
        }
        $payload = self::ADMIN_LINK_VERSION . '.' . $adminId . '.' . $issued . '.' . $expires;

        return $payload . '.' . self::mac($key, $payload);
    }

    /**
     * The console URL that signs the admin in with token (an admin link):
     * <public URL>/console/?link=<token>.
     */
    public static function consoleUrl(string $publicUrl, string $token): string
    {
        return self::pageUrl($publicUrl, self::CONSOLE_PATH, $token);
    }

    /**
     * A page of the daemon (SHOP_PATH, CHANGE_PATH, ...) opened with a link:
     * the daemon trades the link for a cookie and redirects to the page
     * without it.
     */
    public static function pageUrl(string $publicUrl, string $path, string $token): string
    {
        if ($path === '' || $path[0] !== '/') {
            throw new InvalidArgumentException('upsell page path must start with /: ' . $path);
        }

        return rtrim($publicUrl, '/') . $path . '?link=' . rawurlencode($token);
    }

    /**
     * The checkout URL for next, a checkout page's path and query as the
     * daemon's pages link to it (see checkoutNext), opened with a user link.
     */
    public static function checkoutUrl(string $publicUrl, string $next, string $token): string
    {
        $next = self::checkoutNext($next);

        return rtrim($publicUrl, '/') . $next . (str_contains($next, '?') ? '&' : '?') . 'link=' . rawurlencode($token);
    }

    /**
     * Returns next if it is a path (and query) under CHECKOUT_PATH and
     * nothing else, and throws InvalidArgumentException saying why not.
     *
     * next comes from the browser, and the panel appends a fresh link of the
     * logged-in user to it: anything that could leave the daemon's checkout
     * would hand that link, or the user, to someone else. So it must be a
     * relative path with no scheme or host, no "//" (a network-path
     * reference), no backslash (browsers read it as "/"), no control
     * character (CR/LF split headers), no dot segment ("/../" climbs out
     * of the daemon's public URL to the panel's own paths), no fragment
     * (the link would stay in the browser) and no link of its own (a
     * planted link would win over the user's).
     */
    public static function checkoutNext(string $next): string
    {
        if ($next === '' || strlen($next) > self::MAX_NEXT_LENGTH) {
            throw new InvalidArgumentException('upsell checkout path is empty or too long');
        }
        if (preg_match('/[\x00-\x20\x7f\\#]/', $next) || str_contains($next, '//')) {
            throw new InvalidArgumentException('upsell checkout path has a space, control character, backslash, fragment or "//"');
        }
        [$path, $query] = array_pad(explode('?', $next, 2), 2, null);
        // Each segment after the checkout path starts with no dot, so none
        // is "." or ".."; no percent escapes in the path either ("%2e%2e").
        if (!preg_match('#^' . preg_quote(self::CHECKOUT_PATH, '#') . '(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$#D', $path)) {
            throw new InvalidArgumentException('upsell checkout path is not under ' . self::CHECKOUT_PATH);
        }
        if ($query === null) {
            return $next;
        }
        // RFC 3986 query characters; a "%" only as a complete escape.
        if (!preg_match('#^(?:[A-Za-z0-9._~!$&\'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*$#D', $query)) {
            throw new InvalidArgumentException('upsell checkout query has a character a URL cannot carry unescaped');
        }
        foreach (explode('&', $query) as $pair) {
            $name = rawurldecode(str_replace('+', ' ', explode('=', $pair, 2)[0]));
            if (strtolower(trim($name)) === 'link') {
                throw new InvalidArgumentException('upsell checkout query carries a link of its own');
            }
        }

        return $next;
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

    private static function token(string $secret, int $userId, int $serviceId, int $issued, int $expires): string
    {
        self::secret('link', $secret);
        self::positive('user id', $userId);
        if ($serviceId < 0) {
            throw new InvalidArgumentException("upsell service id must not be negative, got $serviceId");
        }
        self::positive('issue time', $issued);
        self::positive('lifetime', $expires - $issued);
        $payload = self::LINK_VERSION . '.' . $userId . '.' . $serviceId . '.' . $issued . '.' . $expires;

        return $payload . '.' . self::mac($secret, $payload);
    }

    /** Unpadded base64url of HMAC-SHA256(key, payload). */
    private static function mac(string $key, string $payload): string
    {
        return rtrim(strtr(base64_encode(hash_hmac('sha256', $payload, $key, true)), '+/', '-_'), '=');
    }

    private static function positive(string $what, int $n): void
    {
        if ($n <= 0) {
            throw new InvalidArgumentException("upsell $what must be positive, got $n");
        }
    }
}
