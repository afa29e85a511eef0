package org.realmexport.localstack.generator;

/** Fixed vocabularies the synthetic realms are written with (ASCII, lower-case words). */
final class Words {
    private Words() {
    }

    static final String[] FIRST_NAMES = {
        "Aaron", "Abena", "Ada", "Aditi", "Ahmed", "Aiko", "Alba", "Aleksander", "Alice", "Amara",
        "Ana", "Anders", "Aoife", "Arjun", "Astrid", "Ayesha", "Bao", "Beatriz", "Ben", "Bilal",
        "Bruno", "Camila", "Carlos", "Chen", "Chiara", "Chioma", "Dana", "Daniel", "Dawit", "Diego",
        "Elena", "Emeka", "Emma", "Esra", "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hana",
        "Hiroshi", "Ines", "Ingrid", "Isaac", "Ivan", "Jamal", "Jin", "Joao", "Julia", "Kai",
        "Kamala", "Karin", "Kwame", "Lars", "Layla", "Leila", "Liam", "Lin", "Lucia", "Mai",
        "Malik", "Marta", "Mateo", "Mei", "Mira", "Nadia", "Naveen", "Nia", "Noah", "Olga",
        "Omar", "Oskar", "Pablo", "Priya", "Quentin", "Rafael", "Ravi", "Rosa", "Sana", "Santiago",
        "Sara", "Sven", "Tariq", "Tomas", "Uma", "Valentina", "Vikram", "Wei", "Yara", "Yusuf", "Zara"};

    static final String[] LAST_NAMES = {
        "Abara", "Andersen", "Bauer", "Becker", "Chowdhury", "Costa", "Dubois", "Eriksson", "Fernandes",
        "Fischer", "Garcia", "Gonzalez", "Haddad", "Hansen", "Hoang", "Ibrahim", "Ito", "Jansen",
        "Kapoor", "Khan", "Kim", "Kowalski", "Larsen", "Lee", "Lopez", "Mbeki", "Meyer", "Moreau",
        "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Park", "Patel", "Petrov", "Quinn", "Rossi",
        "Santos", "Schmidt", "Silva", "Singh", "Suzuki", "Tanaka", "Taylor", "Torres", "Usman",
        "Varga", "Wagner", "Wang", "Weber", "Yamamoto", "Yilmaz", "Zhang", "Zielinski"};

    static final String[] WORDS = {
        "able", "access", "account", "action", "agenda", "agree", "alert", "answer", "api", "app",
        "around", "backend", "backup", "balance", "benchmark", "better", "branch", "bridge", "budget",
        "bug", "build", "cache", "call", "change", "channel", "check", "client", "cluster", "code",
        "commit", "config", "context", "coffee", "customer", "data", "database", "deadline", "debug",
        "deploy", "design", "detail", "docs", "draft", "email", "error", "event", "export", "feature",
        "feedback", "file", "fix", "flaky", "follow", "format", "frontend", "goal", "graph", "great",
        "guide", "help", "idea", "image", "import", "index", "issue", "kafka", "launch", "layout",
        "library", "link", "lunch", "memory", "merge", "message", "metric", "migration", "mobile",
        "monitor", "network", "notes", "office", "online", "patch", "plan", "pipeline", "postgres",
        "prepare", "priority", "profile", "progress", "question", "queue", "quick", "realm", "release",
        "report", "request", "review", "roadmap", "schema", "search", "server", "service", "shard",
        "ship", "sprint", "stack", "status", "storage", "stream", "support", "sync", "team", "test",
        "thanks", "ticket", "timeline", "today", "tomorrow", "topic", "update", "upload", "user",
        "version", "video", "weekly", "worker", "workshop", "write"};

    static final String[] TOPIC_STEMS = {
        "weekly sync", "release planning", "bug triage", "design review", "onboarding", "incident",
        "deploy", "roadmap", "feedback", "questions", "lunch", "random", "hiring", "docs", "demo",
        "performance", "security", "migration", "customer call", "retro", "standup", "announcements"};

    static final String[] STREAM_WORDS = {
        "backend", "frontend", "mobile", "design", "ops", "data", "sales", "support", "marketing",
        "hiring", "research", "security", "docs", "infra", "qa", "api", "growth", "finance", "legal",
        "events", "community", "devrel", "analytics", "platform", "integrations"};

    static final String[] TIMEZONES = {
        "", "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
        "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Tokyo", "Africa/Lagos",
        "Australia/Sydney"};

    static final String[] STREAM_COLORS = {
        "#76ce90", "#fae589", "#a6c7e5", "#e79ab5", "#bfd56f", "#f4ae55", "#b0a5fd", "#addfe5",
        "#f5ce6e", "#c2726a", "#94c849", "#bd86e5", "#ee7e4a", "#a6dcbf", "#95a5fd", "#53a063"};

    static final String[] UNICODE_EMOJI_NAMES = {"+1", "tada", "heart", "smile", "octopus", "rocket", "eyes", "check"};
    static final String[] UNICODE_EMOJI_CODES = {"1f44d", "1f389", "2764", "1f642", "1f419", "1f680", "1f440", "2714"};

    static final String[] ALERT_WORDS = {"outage", "deploy", "urgent", "release", "invoice", "kafka", "postgres"};

    static final String[] STATUS_TEXTS = {"In a meeting", "Commuting", "Out sick", "Vacationing", "Working remotely", "Focus time"};
    static final String[] STATUS_EMOJI_NAMES = {"calendar", "bus", "hurt", "palm_tree", "house", "headphones"};
    static final String[] STATUS_EMOJI_CODES = {"1f4c6", "1f68c", "1f915", "1f334", "1f3e0", "1f3a7"};

    static final String[] ACTIVITY_QUERIES = {
        "get_events", "get_messages_backend", "update_message_flags", "send_message_backend",
        "home_real", "set_typing_status", "update_presence", "get_subscribers_backend"};

    /** File extension and content type of attachments. */
    static final String[][] FILE_TYPES = {
        {"pdf", "application/pdf"}, {"png", "image/png"}, {"txt", "text/plain"}, {"jpg", "image/jpeg"},
        {"csv", "text/csv"}, {"zip", "application/zip"}, {"md", "text/markdown"}, {"gif", "image/gif"}};
}
