<?php

namespace Paymenter\Extensions\Others\Upsell;

use App\Attributes\ExtensionMeta;
use App\Classes\Extension\Extension;
use App\Events\Invoice\Paid as InvoicePaid;
use App\Models\Service;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Event;
use Illuminate\Support\Facades\Log;
use Illuminate\Support\Facades\Route;
use Throwable;

/**
 * Paymenter side of upsell (an "Others" extension).
 *
 * - Tells the daemon at once when an invoice is paid (App\Events\Invoice\Paid)
 *   with a signed webhook. Failures are logged and swallowed: the payment
 *   goes on, and the daemon's poller finds the paid invoice anyway.
 * - Serves GET /upsell/services/{service} (route name "upsell.resources")
 *   for the logged-in owner of the service: it mints a fresh signed link and
 *   redirects to the daemon's "Upgrade resources" page. Put a button to that
 *   route on the service page (see ../README.md).
 *
 * The signing itself is in Signer.php, which has no framework dependency.
 */
#[ExtensionMeta(
    name: 'Upsell',
    description: 'Signed paid-invoice webhooks and "Upgrade resources" links for the upsell daemon.',
    version: '1.0.0',
    author: 'upsell',
    url: 'https://github.com/upsell-io/upsell',
)]
class Upsell extends Extension
{
    /** Default lifetime of a client link, in seconds. */
    private const DEFAULT_LINK_TTL = 3600;

    public function getConfig($values = [])
    {
        return [
            [
                'name' => 'upsell_url',
                'label' => 'Upsell public URL',
                'type' => 'text',
                'description' => 'The daemon\'s http.public_url as clients\' browsers reach it, e.g. https://billing.example.com/upsell',
                'required' => true,
                'validation' => 'url',
            ],
            [
                'name' => 'webhook_url',
                'label' => 'Webhook URL',
                'type' => 'text',
                'description' => 'Where this server POSTs paid invoices. Empty: <Upsell public URL>/webhooks/paymenter. Use the daemon\'s loopback address (e.g. http://127.0.0.1:8080/webhooks/paymenter) when it runs on this host.',
                'required' => false,
                'validation' => 'nullable|url',
            ],
            [
                'name' => 'webhook_secret',
                'label' => 'Webhook secret',
                'type' => 'text',
                'description' => 'security.webhook_secret of the daemon. Empty: no webhook is sent and the daemon\'s poller finds paid invoices on its own.',
                'required' => false,
                'encrypted' => true,
            ],
            [
                'name' => 'link_secret',
                'label' => 'Link secret',
                'type' => 'text',
                'description' => 'security.link_secret of the daemon.',
                'required' => true,
                'encrypted' => true,
            ],
            [
                'name' => 'link_ttl',
                'label' => 'Link lifetime (seconds)',
                'type' => 'number',
                'description' => 'How long a client\'s "Upgrade resources" link stays valid after the click.',
                'required' => false,
                'default' => self::DEFAULT_LINK_TTL,
                'validation' => 'nullable|integer|min:60',
            ],
        ];
    }

    public function boot()
    {
        // Composer's PSR-4 rule for Paymenter\Extensions\ finds Signer.php;
        // this covers a class map built before the extension was copied in.
        if (!class_exists(Signer::class)) {
            require_once __DIR__ . '/Signer.php';
        }

        Event::listen(InvoicePaid::class, function (InvoicePaid $event): void {
            $this->invoicePaid((int) $event->invoice->id);
        });

        Route::middleware(['web', 'auth'])
            ->get('/upsell/services/{service}', function (string $service) {
                return $this->redirectToUpsell((int) $service);
            })
            ->whereNumber('service')
            ->name('upsell.resources');
    }

    /**
     * Sends the signed webhook for a paid invoice. Never throws: the panel's
     * payment flow must not fail or wait long because of upsell.
     */
    public function invoicePaid(int $invoiceId): void
    {
        try {
            $secret = (string) $this->config('webhook_secret');
            if ($secret === '' || $invoiceId <= 0) {
                return;
            }
            $status = Signer::sendInvoicePaid($this->webhookUrl(), $secret, $invoiceId);
            if ($status < 200 || $status >= 300) {
                Log::warning('upsell: the daemon refused the paid-invoice webhook; its poller will pick the invoice up', [
                    'invoice_id' => $invoiceId,
                    'status' => $status,
                ]);
            }
        } catch (Throwable $e) {
            Log::warning('upsell: paid-invoice webhook failed; the daemon\'s poller will pick the invoice up', [
                'invoice_id' => $invoiceId,
                'error' => $e->getMessage(),
            ]);
        }
    }

    /** The signed client URL for a service, or null if not configured. */
    public function clientUrl(int $userId, int $serviceId): ?string
    {
        $secret = (string) $this->config('link_secret');
        $base = (string) $this->config('upsell_url');
        if ($secret === '' || $base === '') {
            return null;
        }
        $ttl = (int) ($this->config('link_ttl') ?: self::DEFAULT_LINK_TTL);
        // The daemon refuses a lifetime above its security.link_ttl.
        $now = time();
        $token = Signer::linkToken($secret, $userId, $serviceId, $now, $now + max(60, $ttl));

        return Signer::clientUrl($base, $token);
    }

    private function redirectToUpsell(int $serviceId)
    {
        $userId = (int) Auth::id();
        // Only the service's owner gets a link to it (the daemon checks
        // this again against the link's user id).
        $service = Service::where('id', $serviceId)->where('user_id', $userId)->first();
        if ($service === null || $service->status !== 'active') {
            abort(404);
        }
        $url = $this->clientUrl($userId, $serviceId);
        if ($url === null) {
            abort(503, 'The upsell extension is not configured.');
        }

        return redirect()->away($url);
    }

    private function webhookUrl(): string
    {
        $url = trim((string) $this->config('webhook_url'));
        if ($url !== '') {
            return $url;
        }

        return rtrim((string) $this->config('upsell_url'), '/') . '/webhooks/paymenter';
    }
}
