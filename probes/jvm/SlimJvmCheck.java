import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.text.DateFormatSymbols;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.time.format.FormatStyle;
import java.util.Calendar;
import java.util.Locale;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * What slim runs after rebuilding a JVM's lib/modules, to compare with the original image:
 * {@code java -cp DIR SlimJvmCheck TAG...} (TAGs are BCP-47 locale tags, e.g. {@code de-DE fr}).
 * Prints, in this order, one line each, UTF-8 whatever the image's locale:
 * <pre>
 * trust N                                   (or: trust error CLASS: MESSAGE)
 * locale TAG FULL-DATE | MARCH | DISPLAY-NAME   (per TAG; a failing part: error CLASS: MESSAGE)
 * sha256 ok                                 (or: sha256 bad, also when SHA-256 is unavailable)
 * </pre>
 * FULL-DATE is 2024-03-01 formatted by java.time with FormatStyle.FULL, MARCH the month name from
 * DateFormatSymbols, DISPLAY-NAME the locale's name in itself. A JVM without jdk.localedata falls
 * back to English (or the root locale) silently, so these lines differ from the original image's.
 * Never throws: exits 0 unless the JVM itself fails. Compiled with --release 11.
 */
public final class SlimJvmCheck {
    private static final String ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    private interface Part {
        String get() throws Throwable;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        out.println("trust " + part(SlimJvmCheck::trust));
        for (String tag : args) {
            Locale locale = Locale.forLanguageTag(tag);
            String date = part(() -> LocalDate.of(2024, 3, 1).format(DateTimeFormatter.ofLocalizedDate(FormatStyle.FULL).withLocale(locale)));
            String march = part(() -> DateFormatSymbols.getInstance(locale).getMonths()[Calendar.MARCH]);
            String name = part(() -> locale.getDisplayName(locale));
            out.println("locale " + tag + " " + date + " | " + march + " | " + name);
        }
        out.println("sha256 " + ("ok".equals(part(SlimJvmCheck::sha256)) ? "ok" : "bad"));
        out.flush();
    }

    private static String trust() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager) return Integer.toString(((X509TrustManager) tm).getAcceptedIssuers().length);
        }
        throw new IllegalStateException("no X509TrustManager");
    }

    private static String sha256() throws Exception {
        byte[] d = MessageDigest.getInstance("SHA-256").digest("abc".getBytes(StandardCharsets.US_ASCII));
        StringBuilder hex = new StringBuilder();
        for (byte b : d) hex.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        return ABC_SHA256.equals(hex.toString()) ? "ok" : "bad";
    }

    /** The part's value, or {@code error CLASS: MESSAGE} on one line; catches errors too (a missing module shows as NoClassDefFoundError or ServiceConfigurationError). */
    private static String part(Part p) {
        try {
            return oneLine(String.valueOf(p.get()));
        } catch (Throwable t) {
            return "error " + t.getClass().getName() + ": " + oneLine(String.valueOf(t.getMessage()));
        }
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }
}
