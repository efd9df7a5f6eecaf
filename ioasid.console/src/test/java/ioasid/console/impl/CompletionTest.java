package ioasid.console.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ioasid.console.impl.Completion.Kind;

class CompletionTest {
    private final Completion completion = new Completion(
            () -> List.of("ioasid:alloc", "ioasid:free", "iommu:probe", "gogo:help",
                    "felix:stop", "console:stop", "ioasid:*"),
            Map.of(Kind.SETS, () -> List.of("1", "2"), Kind.IDS, () -> List.of("5", "9"),
                    Kind.DEVICES, () -> List.of("0000:00:01.0"),
                    Kind.BACKENDS, () -> { throw new IllegalStateException("leaving"); }));

    @Test
    void commandNamesWithAndWithoutScopeUnlessTheShortNameIsAmbiguous() {
        List<String> names = completion.candidates(List.of(""), 0);
        assertTrue(names.containsAll(List.of("alloc", "ioasid:alloc", "free", "probe", "help",
                "felix:stop", "console:stop")), names.toString());
        assertTrue(!names.contains("stop") && !names.contains("ioasid:*"), names.toString());
    }

    @Test
    void argumentsByCommandAndPosition() {
        assertEquals(List.of("1", "2"), completion.candidates(List.of("alloc", ""), 1));
        assertEquals(List.of("1", "2"), completion.candidates(List.of("ioasid:alloc", "-n", "5",
                ""), 3), "an option and its value are skipped");
        assertEquals(List.of("5", "9"), completion.candidates(List.of("free", ""), 1));
        assertEquals(List.of("1", "2"), completion.candidates(List.of("exportset", ""), 1));
        assertEquals(List.of(), completion.candidates(List.of("exportset", "1", ""), 2),
                "the file name is the user's");
        assertEquals(List.of("1", "2"), completion.candidates(List.of("ioasid:freeset", "-s",
                "platform", ""), 3));
        assertEquals(List.of("0000:00:01.0"), completion.candidates(List.of("probe", ""), 1));
        assertEquals(List.of(), completion.candidates(List.of("probe", "d", ""), 2));
        assertTrue(completion.candidates(List.of("help", ""), 1).contains("alloc"));
    }

    @Test
    void aFailingSourceOffersNothing() {
        assertEquals(List.of(), completion.candidates(List.of("log", ""), 1));
    }
}
