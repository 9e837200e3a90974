//! The one label macro: an enum of report values whose serde names,
//! `as_str`, `Display`, `ALL` and `from_label` come from one table, so a
//! typo in a value is a compile error, not a finding that never fires, and
//! no enum keeps a hand-written name table beside its variants.

/// `label_enum!(#[doc] #[derive(Hash)] Name { #[doc] Variant => "label", ... })`.
/// Derives Debug, Clone, Copy, PartialEq, Eq, Serialize and Deserialize;
/// further derives and variant attributes (`#[default]`) pass through.
macro_rules! label_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; <[&str]>::len(&[$(stringify!($variant)),+])] =
                [$($name::$variant),+];

            /// The report's name of the value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value a report name stands for.
            pub fn from_label(label: &str) -> Option<$name> {
                match label {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
