//! String enums of the PortOne V2 browser SDK, with an escape hatch.
//!
//! Each enum mirrors a `const` object of `@portone/browser-sdk@0.1.11`'s type
//! definitions and serializes to exactly its string. A value the SDK adds
//! later is kept verbatim in `Other(String)`, so newer values pass through
//! without a release of this crate.

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($variant:ident = $s:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`\"", $s, "\"`")] $variant,)+
            /// A value this crate does not know yet, passed through verbatim.
            Other(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $s,)+
                    Self::Other(s) => s,
                }
            }

            /// Whether this is a value the crate knows (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($s => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self::from(s.as_str())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                <String as ::serde::Deserialize>::deserialize(d).map(Self::from)
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// `payMethod` of a payment request (`PaymentPayMethod`).
    PayMethod {
        Card = "CARD",
        VirtualAccount = "VIRTUAL_ACCOUNT",
        Transfer = "TRANSFER",
        Mobile = "MOBILE",
        GiftCertificate = "GIFT_CERTIFICATE",
        EasyPay = "EASY_PAY",
        Paypal = "PAYPAL",
        Alipay = "ALIPAY",
        ConvenienceStore = "CONVENIENCE_STORE",
        AlipayPlus = "ALIPAY_PLUS",
    }
}

string_enum! {
    /// `billingKeyMethod` of a billing-key request (`BillingKeyMethod`).
    BillingKeyMethod {
        Card = "CARD",
        Mobile = "MOBILE",
        EasyPay = "EASY_PAY",
        Paypal = "PAYPAL",
    }
}

string_enum! {
    /// `currency` (`PaymentCurrency` / `Currency`, ISO 4217 codes). The SDK
    /// lists every ISO code; the common ones are variants, the rest pass
    /// through `Other`.
    Currency {
        Krw = "KRW",
        Usd = "USD",
        Eur = "EUR",
        Jpy = "JPY",
        Cny = "CNY",
        Vnd = "VND",
        Thb = "THB",
        Sgd = "SGD",
        Aud = "AUD",
        Hkd = "HKD",
    }
}

string_enum! {
    /// One entry of `windowType` (`WindowType`).
    WindowType {
        Iframe = "IFRAME",
        Popup = "POPUP",
        Redirection = "REDIRECTION",
        Ui = "UI",
    }
}

string_enum! {
    /// `locale` of the payment window (`Locale`).
    Locale {
        KoKr = "KO_KR",
        EnUs = "EN_US",
        ZhCn = "ZH_CN",
        ZhTw = "ZH_TW",
        JaJp = "JA_JP",
        RuRu = "RU_RU",
        ThTh = "TH_TH",
        ViVn = "VI_VN",
        IdId = "ID_ID",
        FrFr = "FR_FR",
        NlNl = "NL_NL",
        EsEs = "ES_ES",
        PtPt = "PT_PT",
        DeDe = "DE_DE",
        ItIt = "IT_IT",
        PlPl = "PL_PL",
        Ar001 = "AR_001",
        TrTr = "TR_TR",
        SvSe = "SV_SE",
        FiFi = "FI_FI",
        UkUa = "UK_UA",
        ElGr = "EL_GR",
        TlPh = "TL_PH",
        HiIn = "HI_IN",
        HrHr = "HR_HR",
        LtLt = "LT_LT",
        SlSi = "SL_SI",
        SrRs = "SR_RS",
        BgBg = "BG_BG",
        PtBr = "PT_BR",
    }
}

string_enum! {
    /// TossPay's `bypass.tosspay_v2.cashReceiptTradeOption`
    /// (`TosspayV2CashReceiptTradeOption`). `GENERAL` is TossPay's default.
    CashReceiptTradeOption {
        Culture = "CULTURE",
        General = "GENERAL",
        PublicTp = "PUBLIC_TP",
    }
}

string_enum! {
    /// `easyPay.easyPayProvider` (`EasyPayProvider`).
    EasyPayProvider {
        Naverpay = "NAVERPAY",
        Kakaopay = "KAKAOPAY",
        Tosspay = "TOSSPAY",
        Payco = "PAYCO",
        Chai = "CHAI",
        Lpay = "LPAY",
        Kpay = "KPAY",
        Ssgpay = "SSGPAY",
        Samsungpay = "SAMSUNGPAY",
        Applepay = "APPLEPAY",
        GooglePay = "GOOGLE_PAY",
        Lgpay = "LGPAY",
        Skpay = "SKPAY",
        Pinpay = "PINPAY",
        TossBrandpay = "TOSS_BRANDPAY",
        Hyphen = "HYPHEN",
        Linepay = "LINEPAY",
        Tmoney = "TMONEY",
        Paypay = "PAYPAY",
        Amazonpay = "AMAZONPAY",
        Rakutenpay = "RAKUTENPAY",
        Dbarai = "DBARAI",
        Aupay = "AUPAY",
        Merpay = "MERPAY",
        Alipay = "ALIPAY",
        AlipayHk = "ALIPAY_HK",
        TrueMoney = "TRUE_MONEY",
        TouchNGo = "TOUCH_N_GO",
        Gcash = "GCASH",
        Dana = "DANA",
        RabbitLinePay = "RABBIT_LINE_PAY",
        Bpi = "BPI",
        Boost = "BOOST",
        BillEase = "BILL_EASE",
        Tinaba = "TINABA",
        Mpay = "MPAY",
        Kredivo = "KREDIVO",
        Wechat = "WECHAT",
        Paypal = "PAYPAL",
    }
}

string_enum! {
    /// `easyPay.cashReceiptType` (`CashReceiptType`).
    CashReceiptType {
        Personal = "PERSONAL",
        Corporate = "CORPORATE",
        Anonymous = "ANONYMOUS",
    }
}

string_enum! {
    /// `customer.gender` (`Gender`).
    Gender {
        Male = "MALE",
        Female = "FEMALE",
        OtherGender = "OTHER",
    }
}

string_enum! {
    /// `productType` (`ProductType`).
    ProductType {
        Real = "REAL",
        Digital = "DIGITAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_to_their_exact_strings() {
        assert_eq!(serde_json::to_value(PayMethod::EasyPay).ok(), Some("EASY_PAY".into()));
        assert_eq!(PayMethod::from("VIRTUAL_ACCOUNT"), PayMethod::VirtualAccount);
        assert_eq!(Locale::from("AR_001"), Locale::Ar001);
        assert_eq!(CashReceiptTradeOption::PublicTp.as_str(), "PUBLIC_TP");
    }

    #[test]
    fn unknown_values_pass_through_verbatim() {
        let m: PayMethod = serde_json::from_str("\"CRYPTO\"").unwrap_or(PayMethod::Card);
        assert_eq!(m, PayMethod::Other("CRYPTO".into()));
        assert!(!m.is_known());
        assert_eq!(serde_json::to_string(&m).ok().as_deref(), Some("\"CRYPTO\""));
    }
}
