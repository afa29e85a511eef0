package org.realmexport.localstack.generator;

import org.realmexport.localstack.generator.MessagePlanner.Plan;
import org.realmexport.localstack.generator.Model.Attachment;

import java.util.List;

import static org.realmexport.localstack.generator.PgTime.MICROS_PER_SECOND;

/**
 * The text of a planned message: Markdown content, the HTML Zulip would render from it, the
 * full-text-search vector, and an edit history for the few edited messages. Reuses its buffers.
 */
final class MessageContent {
    final StringBuilder content = new StringBuilder(512);
    final StringBuilder rendered = new StringBuilder(640);
    final StringBuilder searchVector = new StringBuilder(512);
    final StringBuilder editHistory = new StringBuilder(1024);
    boolean hasLink;
    boolean hasImage;
    boolean hasAttachment;
    long lastEditTime;   // 0: never edited

    void build(Plan p, Rng rng) {
        content.setLength(0);
        rendered.setLength(0);
        searchVector.setLength(0);
        editHistory.setLength(0);
        hasLink = false;
        hasImage = false;
        hasAttachment = p.attachments != null;
        lastEditTime = 0;

        rendered.append("<p>");
        if (p.mentioned != null) {
            content.append("@**").append(p.mentioned.fullName).append("** ");
            rendered.append("<span class=\"user-mention\" data-user-id=\"").append(p.mentioned.id).append("\">@")
                    .append(p.mentioned.fullName).append("</span> ");
        } else if (p.wildcard) {
            content.append("@**all** ");
            rendered.append("<span class=\"user-mention\" data-user-id=\"*\">@all</span> ");
        } else if (p.topicWildcard) {
            content.append("@**topic** ");
            rendered.append("<span class=\"topic-mention\">@topic</span> ");
        } else if (p.mentionedGroup != null) {
            content.append("@*").append(p.mentionedGroup.name).append("* ");
            rendered.append("<span class=\"user-group-mention\" data-user-group-id=\"").append(p.mentionedGroup.id)
                    .append("\">@").append(p.mentionedGroup.name).append("</span> ");
        }
        int words = rng.between(2, 16);
        int prevContentLength = 0;
        for (int i = 0; i < words; i++) {
            String w = rng.pick(Words.WORDS);
            if (i > 0) {
                content.append(' ');
                rendered.append(' ');
                searchVector.append(' ');
            }
            if (i == words - 1) {
                prevContentLength = content.length();
            }
            content.append(w);
            rendered.append(w);
            searchVector.append('\'').append(w).append("':").append(i + 1);
        }
        if (rng.chance(0.03)) {
            String w = rng.pick(Words.WORDS);
            content.append(" https://example.com/docs/").append(w);
            rendered.append(" <a href=\"https://example.com/docs/").append(w).append("\">https://example.com/docs/")
                    .append(w).append("</a>");
            hasLink = true;
        }
        if (p.attachments != null) {
            List<Attachment> all = p.realm.attachments;
            for (int index : p.attachments) {
                Attachment a = all.get(index);
                content.append(" [").append(a.fileName).append("](/user_uploads/").append(a.pathId).append(')');
                rendered.append(" <a href=\"/user_uploads/").append(a.pathId).append("\">").append(a.fileName).append("</a>");
                hasLink = true;
                hasImage |= a.contentType.startsWith("image/");
            }
        }
        rendered.append("</p>");

        if (p.edit != MessagePlanner.EDIT_NONE) {
            lastEditTime = p.dateSent + rng.between(30, 3600) * MICROS_PER_SECOND;
            editHistory.append("[{\"user_id\": ").append(p.sender.id)
                    .append(", \"timestamp\": ").append(lastEditTime / MICROS_PER_SECOND);
            if (p.edit == MessagePlanner.EDIT_TOPIC) {
                String previous = p.stream.topics[rng.nextInt(p.stream.topics.length)];
                editHistory.append(", \"prev_topic\": ");
                json(previous);
                editHistory.append(", \"topic\": ");
                json(p.topic);
            } else {
                String previous = content.substring(0, prevContentLength) + "draft";
                editHistory.append(", \"prev_content\": ");
                json(previous);
                editHistory.append(", \"prev_rendered_content\": ");
                json("<p>" + previous + "</p>");
                editHistory.append(", \"prev_rendered_content_version\": 1");
            }
            editHistory.append("}]");
        }
    }

    private void json(String s) {
        editHistory.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> editHistory.append("\\\"");
                case '\\' -> editHistory.append("\\\\");
                case '\n' -> editHistory.append("\\n");
                default -> {
                    if (c < 0x20) {
                        editHistory.append(String.format("\\u%04x", (int) c));
                    } else {
                        editHistory.append(c);
                    }
                }
            }
        }
        editHistory.append('"');
    }
}
