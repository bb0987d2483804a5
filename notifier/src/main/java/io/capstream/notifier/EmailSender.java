package io.capstream.notifier;

import io.capstream.schemas.ThresholdCrossed;
import jakarta.mail.Authenticator;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.PasswordAuthentication;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/** Notification emails over SMTP (Angus Mail), as text and HTML, one per threshold event. */
final class EmailSender {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EmailSender.class);
    private final Session session;
    private final String from;

    EmailSender(String host, int port, String from, String username, String password, Duration timeout) {
        Properties props = new Properties();
        props.put("mail.smtp.host", host);
        props.put("mail.smtp.port", Integer.toString(port));
        props.put("mail.smtp.connectiontimeout", Long.toString(timeout.toMillis()));
        props.put("mail.smtp.timeout", Long.toString(timeout.toMillis()));
        props.put("mail.smtp.writetimeout", Long.toString(timeout.toMillis()));
        props.put("mail.smtp.sendpartial", "true"); // one refused recipient does not hold back the others
        boolean auth = username != null && !username.isBlank();
        props.put("mail.smtp.auth", Boolean.toString(auth));
        this.session = auth ? Session.getInstance(props, new Authenticator() {
            @Override
            protected PasswordAuthentication getPasswordAuthentication() {
                return new PasswordAuthentication(username, password);
            }
        }) : Session.getInstance(props);
        this.from = from;
    }

    /** @param thresholds every threshold the message is about, lowest first ({@code event}'s is the highest) */
    Outcome send(List<String> to, ThresholdCrossed event, List<String> thresholds) {
        try {
            MimeMessage message = new StableIdMessage(session, event.getId());
            message.setFrom(new InternetAddress(from));
            List<String> invalid = new java.util.ArrayList<>();
            for (String address : to) {
                try {
                    message.addRecipient(Message.RecipientType.TO, new InternetAddress(address, true));
                } catch (jakarta.mail.internet.AddressException e) {
                    invalid.add(address); // stored before addresses were validated strictly: it will never work
                }
            }
            if (invalid.size() == to.size()) {
                return new Outcome.Refused("no valid recipient address: " + invalid, Optional.empty());
            }
            message.setSubject(MessageText.subject(event), StandardCharsets.UTF_8.name());
            message.setSentDate(Date.from(event.getCrossedAt()));
            MimeBodyPart text = new MimeBodyPart();
            text.setText(MessageText.text(event, thresholds), StandardCharsets.UTF_8.name());
            MimeBodyPart html = new MimeBodyPart();
            html.setContent(MessageText.html(event, thresholds), "text/html; charset=UTF-8");
            MimeMultipart alternative = new MimeMultipart("alternative");
            alternative.addBodyPart(text);
            alternative.addBodyPart(html);
            message.setContent(alternative);
            Transport.send(message);
            if (!invalid.isEmpty()) {
                LOG.warn("notification {} not sent to invalid addresses {}", event.getId(), invalid);
            }
            return new Outcome.Delivered(Optional.empty());
        } catch (SendFailedException e) {
            if (e.getValidSentAddresses() != null && e.getValidSentAddresses().length > 0) {
                // sent to the others (sendpartial); the refused ones will not take it on a retry either
                LOG.warn("notification {} refused by the SMTP server for {}", event.getId(), java.util.Arrays.toString(e.getInvalidAddresses()));
                return new Outcome.Delivered(Optional.empty());
            }
            // the server refused the addresses themselves: sending again will not help
            return new Outcome.Refused("the SMTP server refused the recipients: " + e.getMessage(), Optional.empty());
        } catch (jakarta.mail.internet.AddressException e) {
            return new Outcome.Refused("an address is not valid: " + e.getMessage(), Optional.empty());
        } catch (MessagingException e) {
            return new Outcome.Retry("SMTP: " + e.getMessage(), Optional.empty(), Optional.empty());
        }
    }

    /** A Message-ID derived from the notification id, so mail clients and filters can drop duplicates. */
    private static final class StableIdMessage extends MimeMessage {
        private final String id;

        StableIdMessage(Session session, String notificationId) {
            super(session);
            try {
                this.id = "<" + HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(notificationId.getBytes(StandardCharsets.UTF_8))) + "@capstream>";
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        protected void updateMessageID() throws MessagingException {
            setHeader("Message-ID", id);
        }
    }
}
