<?php

namespace Paymenter\Extensions\Others\Upsell;

use App\Attributes\ExtensionMeta;
use App\Classes\Extension\Extension;
use App\Events\Invoice\Paid as InvoicePaid;
use App\Models\Service;
use App\Models\User;
use Filament\Facades\Filament;
use Filament\Navigation\NavigationItem;
use Filament\Panel;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Event;
use Illuminate\Support\Facades\Log;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;
use InvalidArgumentException;
use Throwable;

/**
 * Paymenter side of upsell (an "Others" extension).
 *
 * - Tells the daemon at once when an invoice is paid (App\Events\Invoice\Paid)
 *   with a signed webhook. Failures are logged and swallowed: the payment
 *   goes on, and the daemon's poller finds the paid invoice anyway.
 * - Sends logged-in clients to the daemon's pages with a link signed at the
 *   click, so a page left open never holds an expired link:
 *   GET /upsell/services/{service}          "upsell.resources" -> add-on shop
 *   GET /upsell/services/{service}/options  "upsell.options"   -> change options
 *   (the service's owner, active services only), and
 *   GET /upsell/checkout?next=<path>        "upsell.checkout"  -> checkout
 *   (a user link; next must stay under the daemon's checkout page). The
 *   UpsellPterodactyl server extension puts the two service buttons on the
 *   service page (see ../README.md).
 * - Sends the panel's admins to the daemon's console, signed in:
 *   GET /admin/upsell                       "upsell.admin"     -> console
 *   for admins whose role has the permission admin.upsell.console, which
 *   the extension declares on the "permissions" hook (Admin -> Roles). The
 *   admin panel's sidebar shows them an "Upsell" entry leading there.
 *
 * The signing itself is in Signer.php, which has no framework dependency.
 */
#[ExtensionMeta(
    name: 'Upsell',
    description: 'Signed paid-invoice webhooks, signed links to the upsell daemon\'s shop, change-options and checkout pages, and the admins\' sign-in to its console.',
    version: '1.0.0',
    author: 'upsell',
    url: 'https://github.com/upsell-io/upsell',
)]
class Upsell extends Extension
{
    /** Default lifetime of a client link, in seconds. */
    private const DEFAULT_LINK_TTL = 3600;

    /**
     * The role permission that opens the daemon's console (and shows its
     * entry in the admin sidebar). Named like Paymenter's own admin
     * permissions (admin.<area>.<action>) so it sits beside them in the
     * role form.
     */
    public const CONSOLE_PERMISSION = 'admin.upsell.console';

    /** The shortest admin link lifetime the settings accept, in seconds. */
    private const MIN_ADMIN_LINK_TTL = 30;

    /**
     * The admin panel whose sidebar already holds the "Upsell" entry: the
     * panel object outlives one request under Octane, and the entry must
     * be added to it once.
     */
    private static ?Panel $navigationPanel = null;

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
                'description' => 'How long a client\'s link to an upsell page stays valid after the click; at most the daemon\'s security.link_ttl.',
                'required' => false,
                'default' => self::DEFAULT_LINK_TTL,
                'validation' => 'nullable|integer|min:60',
            ],
            [
                'name' => 'admin_link_ttl',
                'label' => 'Admin sign-in lifetime (seconds)',
                'type' => 'number',
                'description' => 'How long the link that signs an admin in to the upsell console stays valid after the click (' . self::MIN_ADMIN_LINK_TTL . ' to ' . Signer::MAX_ADMIN_LINK_TTL . ').',
                'required' => false,
                'default' => Signer::DEFAULT_ADMIN_LINK_TTL,
                'validation' => 'nullable|integer|min:' . self::MIN_ADMIN_LINK_TTL . '|max:' . Signer::MAX_ADMIN_LINK_TTL,
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

        // "auth" sends a visitor through the panel's login and back to the
        // URL they asked for, query included (Laravel's url.intended).
        Route::middleware(['web', 'auth'])->group(function () {
            Route::get('/upsell/services/{service}', function (Request $request, string $service) {
                return $this->redirectToService($request, (int) $service, Signer::SHOP_PATH);
            })->whereNumber('service')->name('upsell.resources');

            Route::get('/upsell/services/{service}/options', function (Request $request, string $service) {
                return $this->redirectToService($request, (int) $service, Signer::CHANGE_PATH);
            })->whereNumber('service')->name('upsell.options');

            Route::get('/upsell/checkout', function (Request $request) {
                return $this->redirectToCheckout($request);
            })->name('upsell.checkout');

            // Under /admin/ on purpose: Paymenter's web middleware ends an
            // impersonation there, so the link is always the signed-in
            // admin's own, never that of a client they are viewing as.
            Route::get('/admin/upsell', function (Request $request) {
                return $this->redirectToConsole($request);
            })->name('upsell.admin');
        });

        // The role form lists every key of every "permissions" listener's
        // array (key => label) beside Paymenter's own.
        Event::listen('permissions', function () {
            return [self::CONSOLE_PERMISSION => 'Open the Upsell console'];
        });

        // The admin sidebar is Filament's: Paymenter has no string hook for
        // it. The panel fires ServingFilament on each of its requests.
        Filament::serving(function (): void {
            $this->registerAdminNavigation();
        });
    }

    /**
     * Whether user may open the daemon's console: a panel admin (a user with
     * a role) whose role has CONSOLE_PERMISSION, or all permissions.
     */
    public static function mayOpenConsole(mixed $user): bool
    {
        return $user instanceof User && $user->role_id !== null && $user->hasPermission(self::CONSOLE_PERMISSION);
    }

    /**
     * The console URL that signs the panel admin adminId in, or null if the
     * extension is not configured. The caller checks mayOpenConsole first:
     * the link makes its holder that admin in the console.
     */
    public function adminConsoleUrl(int $adminId): ?string
    {
        $base = $this->publicUrl();
        $now = time();
        $secret = (string) $this->config('link_secret');
        if ($base === null || $secret === '') {
            return null;
        }

        return Signer::consoleUrl($base, Signer::adminLinkToken($secret, $adminId, $now, $now + $this->adminLinkTtl()));
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

    /**
     * The signed URL of one of the daemon's service pages (Signer::SHOP_PATH
     * by default, or Signer::CHANGE_PATH), or null if the extension is not
     * configured. The caller checks that the service is the user's: the
     * link grants it.
     */
    public function clientUrl(int $userId, int $serviceId, string $page = Signer::SHOP_PATH): ?string
    {
        $base = $this->publicUrl();
        $now = time();
        $secret = (string) $this->config('link_secret');
        if ($base === null || $secret === '') {
            return null;
        }

        return Signer::pageUrl($base, $page, Signer::linkToken($secret, $userId, $serviceId, $now, $now + $this->linkTtl()));
    }

    /**
     * The signed checkout URL for next (a path and query under
     * Signer::CHECKOUT_PATH) with a link of the user alone, or null if the
     * extension is not configured. Throws InvalidArgumentException for any
     * other next.
     */
    public function checkoutUrl(int $userId, string $next): ?string
    {
        $next = Signer::checkoutNext($next);
        $base = $this->publicUrl();
        $now = time();
        $secret = (string) $this->config('link_secret');
        if ($base === null || $secret === '') {
            return null;
        }

        return Signer::checkoutUrl($base, $next, Signer::userLinkToken($secret, $userId, $now, $now + $this->linkTtl()));
    }

    private function redirectToService(Request $request, int $serviceId, string $page)
    {
        $userId = (int) Auth::id();
        // Only the service's owner gets a link to it (the daemon checks
        // this again against the link's user id).
        $service = Service::where('id', $serviceId)->where('user_id', $userId)->first();
        if ($service === null || $service->status !== 'active') {
            abort(404);
        }
        if ($bounce = $this->leaveNavigate($request)) {
            return $bounce;
        }
        $url = $this->clientUrl($userId, $serviceId, $page);
        if ($url === null) {
            abort(503, 'The upsell extension is not configured.');
        }

        return redirect()->away($url);
    }

    private function redirectToCheckout(Request $request)
    {
        $next = $request->query('next');
        try {
            if (!is_string($next)) {
                throw new InvalidArgumentException('upsell checkout path is missing');
            }
            Signer::checkoutNext($next);
        } catch (InvalidArgumentException $e) {
            abort(400, 'This is not an upsell checkout link.');
        }
        if ($bounce = $this->leaveNavigate($request)) {
            return $bounce;
        }
        $url = $this->checkoutUrl((int) Auth::id(), $next);
        if ($url === null) {
            abort(503, 'The upsell extension is not configured.');
        }

        return redirect()->away($url);
    }

    private function redirectToConsole(Request $request)
    {
        $admin = Auth::user();
        if (!self::mayOpenConsole($admin)) {
            abort(403);
        }
        if ($bounce = $this->leaveNavigate($request)) {
            return $bounce;
        }
        $url = $this->adminConsoleUrl((int) $admin->id);
        if ($url === null) {
            abort(503, 'The upsell extension is not configured.');
        }

        // The URL carries a live sign-in: no cache keeps it.
        return redirect()->away($url)->header('Cache-Control', 'no-store');
    }

    /**
     * Adds the "Upsell" entry to the admin panel's sidebar, shown only to
     * admins allowed into the console. It opens in a new tab: a plain visit
     * (the sidebar would otherwise fetch the same-origin route with
     * Livewire's navigate), and the panel stays open beside the console.
     */
    private function registerAdminNavigation(): void
    {
        $panel = Filament::getCurrentPanel();
        if ($panel === null || $panel->getId() !== 'admin' || self::$navigationPanel === $panel) {
            return;
        }
        self::$navigationPanel = $panel;
        $panel->navigationItems([
            NavigationItem::make('Upsell')
                ->group('Administration')
                ->icon('ri-arrow-up-circle-line')
                ->url(fn (): string => route('upsell.admin'), shouldOpenInNewTab: true)
                ->visible(fn (): bool => self::mayOpenConsole(Auth::user())),
        ]);
    }

    /**
     * After the login form, Paymenter opens the intended URL with Livewire's
     * navigate (a fetch that swaps the page in). That fetch cannot follow
     * this route's redirect to the daemon on another origin (it fails and
     * the browser stays on the login page) and, on the same origin, would
     * swap the daemon's page into the panel's. So a navigate request gets a
     * page that reloads this same URL as a real visit; the link is signed
     * then, not here.
     */
    private function leaveNavigate(Request $request)
    {
        if (!$request->hasHeader('X-Livewire-Navigate')) {
            return null;
        }
        $self = e($request->fullUrl());
        $js = json_encode($request->fullUrl(), JSON_UNESCAPED_SLASHES | JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT);

        return response(
            '<!DOCTYPE html><html><head><title>Upsell</title></head><body>'
            . '<p><a href="' . $self . '">Continue</a></p>'
            . '<script>window.location.replace(' . $js . ');</script>'
            . '</body></html>',
            200,
            ['Content-Type' => 'text/html; charset=UTF-8', 'Cache-Control' => 'no-store']
        );
    }

    /** The daemon's public URL, or null if not set. */
    private function publicUrl(): ?string
    {
        $base = trim((string) $this->config('upsell_url'));

        return $base === '' ? null : $base;
    }

    /** A link's lifetime: the setting, at least a minute. */
    private function linkTtl(): int
    {
        // The daemon refuses a lifetime above its security.link_ttl.
        return max(60, (int) ($this->config('link_ttl') ?: self::DEFAULT_LINK_TTL));
    }

    /**
     * An admin link's lifetime: the setting, kept within what the daemon
     * accepts (at most Signer::MAX_ADMIN_LINK_TTL).
     */
    private function adminLinkTtl(): int
    {
        $ttl = (int) ($this->config('admin_link_ttl') ?: Signer::DEFAULT_ADMIN_LINK_TTL);

        return min(Signer::MAX_ADMIN_LINK_TTL, max(self::MIN_ADMIN_LINK_TTL, $ttl));
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
